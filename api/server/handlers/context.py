"""What every verb handler works with: the object store, the registry and the watch caches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from api.machinery import status as errors
from api.registry.core import NAMESPACES
from api.registry.resources import Registry
from api.registry.strategy import Object, Strategy
from api.server.objects import Objects, json_bytes
from api.server.tables import metadata_only, table
from api.server.watchcache import WatchCaches

JSON = "application/json"


class NamespaceIndex:
    """Namespaces known to be active, kept by the namespace controller from the namespaces' watch.

    Only a fast path: a namespace missing here is looked up in the store."""

    def __init__(self) -> None:
        self._active: set[str] = set()

    def active(self, name: str) -> bool:
        return name in self._active

    def observe(self, namespace: Object, *, deleted: bool) -> None:
        name = namespace["metadata"]["name"]
        phase = (namespace.get("status") or {}).get("phase")
        if deleted or phase != "Active" or namespace["metadata"].get("deletionTimestamp"):
            self._active.discard(name)
        else:
            self._active.add(name)


@dataclass(frozen=True)
class Api:
    objects: Objects
    registry: Registry
    caches: WatchCaches
    namespaces: NamespaceIndex = field(default_factory=lambda: NamespaceIndex())

    async def require_namespace(self, strategy: Strategy, name: str, namespace: str) -> None:
        """NamespaceLifecycle admission: the namespace exists and is not terminating."""
        if not strategy.namespaced:
            return
        if self.namespaces.active(namespace):
            return
        found = await self.objects.find(NAMESPACES, "", namespace)
        if found is None:
            raise errors.namespace_not_found(namespace)
        if (found.get("status") or {}).get("phase") == "Terminating":
            raise errors.forbidden_namespace_terminating(strategy.group, strategy.plural, name, namespace)


def respond(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=json_bytes(body), status=status, content_type=JSON)


def shaped(strategy: Strategy, obj: Object, *, as_table: bool, as_metadata: bool,
           include_object: str = "Metadata") -> Any:
    if as_table:
        return table(strategy, [obj], include_object=include_object, revision="")
    if as_metadata:
        return metadata_only(obj)
    return obj
