"""The apiserver's view of this node's pods, as upstream's status manager keeps it.

Statuses go to ``pods/<name>/status`` only when they differ from the last one written, as a strategic
merge patch carrying the pod's uid (a same-named successor is not written to). A pod whose deletion
the kubelet has carried out (containers stopped, volumes gone) is finally deleted with grace 0 and a
uid precondition. Failed writes are retried until they succeed or the pod is gone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from api.client.clock import Clock
from api.client.errors import ApiError, ApiUnreachable, Conflict, NotFound
from api.client.protocol import Api
from api.client.resources import PODS
from api.client.types import PatchType
from api.core.v1.pods import pod_name, pod_namespace, pod_uid
from api.model.core_v1 import Pod, PodStatus

log = logging.getLogger(__name__)
RETRY_S = 1.0


class PodStatusManager:
    def __init__(self, api: Api, *, owns: Callable[[str], bool], clock: Clock) -> None:
        self.api = api
        self.owns = owns
        self.clock = clock
        self.writes = 0
        self._written: dict[str, dict[str, Any]] = {}
        self._pending: dict[str, tuple[Pod, dict[str, Any]]] = {}
        self._deleting: dict[str, Pod] = {}
        self._wake = asyncio.Event()

    def set(self, pod: Pod, status: PodStatus) -> None:
        """Queues the status if the pod came from the apiserver and the status changed."""
        uid = pod_uid(pod)
        body = status.to_dict()
        if not self.owns(uid) or self._written.get(uid) == body:
            self._pending.pop(uid, None)
            return
        self._pending[uid] = (pod, body)
        self._wake.set()

    def terminated(self, pod: Pod) -> None:
        """The pod's containers and volumes are gone: if it is being deleted, delete it for good."""
        uid = pod_uid(pod)
        self._written.pop(uid, None)
        self._pending.pop(uid, None)
        if self.owns(uid) and pod.metadata is not None and pod.metadata.deletion_timestamp:
            self._deleting[uid] = pod
            self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            failed = False
            for uid in list(self._pending):
                failed |= not await self._write(uid)
            for uid in list(self._deleting):
                failed |= not await self._delete(uid)
            if failed:
                await self.clock.sleep(RETRY_S)
                self._wake.set()

    async def _write(self, uid: str) -> bool:
        pod, body = self._pending.pop(uid)
        if not self.owns(uid):
            return True  # deleted meanwhile: a same-named successor's status is not ours to write
        patch = {"metadata": {"uid": uid}, "status": body}
        try:
            await self.api.patch(
                PODS,
                pod_name(pod),
                patch,
                patch_type=PatchType.STRATEGIC,
                namespace=pod_namespace(pod),
                subresource="status",
            )
        except (NotFound, Conflict) as error:
            log.info("status of pod %s/%s not written: %s", pod_namespace(pod), pod_name(pod), error)
            return True
        except (ApiError, ApiUnreachable) as error:
            log.warning("writing status of pod %s/%s: %s", pod_namespace(pod), pod_name(pod), error)
            self._pending.setdefault(uid, (pod, body))
            return False
        self._written[uid] = body
        self.writes += 1
        return True

    async def _delete(self, uid: str) -> bool:
        pod = self._deleting[uid]
        try:
            await self.api.delete(
                PODS,
                pod_name(pod),
                namespace=pod_namespace(pod),
                grace_period_seconds=0,
                preconditions={"uid": uid},
            )
        except (NotFound, Conflict):
            pass
        except (ApiError, ApiUnreachable) as error:
            log.warning("deleting pod %s/%s: %s", pod_namespace(pod), pod_name(pod), error)
            return False
        del self._deleting[uid]
        log.info("pod %s/%s deleted", pod_namespace(pod), pod_name(pod))
        return True
