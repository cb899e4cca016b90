"""The namespace controller: a terminating namespace's content is deleted, then the namespace."""

from __future__ import annotations

import asyncio
import logging

from api.machinery import status as errors
from api.registry.core import NAMESPACES
from api.registry.strategy import Object
from api.server.handlers.context import Api
from api.server.handlers.delete import DeleteOptions, delete_object
from api.server.lifecycle import now
from api.server.request import ResourcePath

log = logging.getLogger(__name__)
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
RETRY_S = 1.0


async def ensure_system_namespaces(api: Api) -> None:
    for name in SYSTEM_NAMESPACES:
        if await api.objects.find(NAMESPACES, "", name) is None:
            namespace: Object = {"apiVersion": "v1", "kind": "Namespace", "metadata": {
                "name": name, "uid": _uid(), "creationTimestamp": now()}}
            NAMESPACES.default(namespace)
            try:
                await api.objects.create(NAMESPACES, namespace)
            except errors.ApiError as error:
                if error.reason != "AlreadyExists":
                    raise


def _uid() -> str:
    import uuid

    return str(uuid.uuid4())


async def _delete_content(api: Api, namespace: str) -> int:
    """Deletes what is in the namespace; returns how many objects remain."""
    remaining = 0
    seen: set[bytes] = set()
    for strategy in api.registry.resources:
        if not strategy.namespaced or strategy.list_prefix(namespace) in seen:
            continue
        seen.add(strategy.list_prefix(namespace))
        page = await api.objects.page(strategy, namespace, revision=0, limit=0, continue_key=None)
        for obj in page.items:
            remaining += 1
            path = ResourcePath(strategy, namespace, obj["metadata"]["name"], "")
            try:
                await delete_object(api, path, DeleteOptions(), dry=False)
            except errors.ApiError as error:
                if error.code not in (404, 409):
                    raise
    return remaining


async def finalize(api: Api, name: str) -> bool:
    """True once the namespace is gone."""
    namespace = await api.objects.find(NAMESPACES, "", name)
    if namespace is None:
        return True
    if not namespace["metadata"].get("deletionTimestamp"):
        return True
    if await _delete_content(api, name):
        return False
    try:
        if namespace["metadata"].get("finalizers"):
            if namespace["spec"].get("finalizers"):
                namespace["spec"]["finalizers"] = []
                await api.objects.update(NAMESPACES, namespace, int(namespace["metadata"]["resourceVersion"]))
            return False
        await api.objects.delete(NAMESPACES, namespace)
    except errors.ApiError as error:
        if error.code not in (404, 409):
            raise
        return error.code == 404
    return True


async def run_namespace_controller(api: Api) -> None:
    cache = await api.caches.of(NAMESPACES)
    subscriber = cache.subscribe(cache.revision)
    pending: set[str] = set()
    page = await api.objects.page(NAMESPACES, "", revision=0, limit=0, continue_key=None)
    pending.update(ns["metadata"]["name"] for ns in page.items if ns["metadata"].get("deletionTimestamp"))
    for namespace in page.items:
        api.namespaces.observe(namespace, deleted=False)
    try:
        while True:
            for name in list(pending):
                try:
                    if await finalize(api, name):
                        pending.discard(name)
                except errors.ApiError as error:
                    log.warning("namespace %s: %s", name, error.message)
            timeout = RETRY_S if pending else None
            try:
                change = await asyncio.wait_for(subscriber.queue.get(), timeout)
            except TimeoutError:
                continue
            if change is None:
                return
            api.namespaces.observe(change.obj, deleted=change.type == "DELETED")
            if change.type != "DELETED" and change.obj["metadata"].get("deletionTimestamp"):
                pending.add(change.obj["metadata"]["name"])
    finally:
        cache.unsubscribe(subscriber)
