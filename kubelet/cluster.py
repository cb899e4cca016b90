"""The kubelet as a node of a cluster: registers its Node and keeps its Lease and status current;
runs the pods bound to it and reports their statuses back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from api.client.clock import Clock
from api.client.errors import ApiError, ApiUnreachable
from api.client.protocol import Api
from api.client.types import Obj
from api.model.core_v1 import Pod
from cri.client import CRIClient
from cri.domain.runtime import RuntimeStatus
from cri.errors import CRIError
from kubelet.api_source import ApiPodSource
from kubelet.config import KubeletConfiguration
from kubelet.node_info import NodeFacts
from kubelet.node_lease import NodeLease
from kubelet.node_status import NodeStatusReporter
from kubelet.status_manager import PodStatusManager

log = logging.getLogger(__name__)
REGISTER_BACKOFF_S = (0.1, 7.0)
CRI_TIMEOUT_S = 10.0


class ClusterNode:
    def __init__(
        self,
        api: Api,
        client: CRIClient,
        config: KubeletConfiguration,
        *,
        node_name: str,
        host_ip: str,
        clock: Clock,
        on_pods: Callable[[Mapping[str, Pod]], None],
    ) -> None:
        self.api = api
        self.client = client
        self.config = config
        self.node_name = node_name
        self.host_ip = host_ip
        self.clock = clock
        self.registered = asyncio.Event()
        self.reporter: NodeStatusReporter | None = None
        self.pods = ApiPodSource(api, node_name=node_name, on_update=on_pods, clock=clock)
        self.statuses = PodStatusManager(api, owns=self.pods.owns, clock=clock)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as loops:
            loops.create_task(self.pods.run(), name="api-pod-source")
            loops.create_task(self.statuses.run(), name="pod-status-manager")
            loops.create_task(self._run_node(), name="node")

    async def _run_node(self) -> None:
        version = await self.client.version(timeout=CRI_TIMEOUT_S)
        facts = NodeFacts.gather(self.config, version, name=self.node_name, host_ip=self.host_ip)
        self.reporter = NodeStatusReporter(
            self.api,
            facts,
            runtime_status=self.runtime_status,
            clock=self.clock,
            update_s=self.config.node_status_update_s,
            report_s=self.config.node_status_report_s,
        )
        node = await self._register(self.reporter)
        self.registered.set()
        lease = NodeLease(
            self.api,
            node,
            clock=self.clock,
            duration_s=self.config.node_lease_duration_seconds,
            renew_s=self.config.node_lease_duration_seconds / 4,
        )
        async with asyncio.TaskGroup() as loops:
            loops.create_task(lease.run(), name="node-lease")
            loops.create_task(self.reporter.run(), name="node-status")

    async def _register(self, reporter: NodeStatusReporter) -> Obj:
        delay, ceiling = REGISTER_BACKOFF_S
        while True:
            try:
                return await reporter.register()
            except (ApiError, ApiUnreachable) as error:
                log.warning("registering node %s: %s; retrying in %.1fs", self.node_name, error, delay)
            await self.clock.sleep(delay)
            delay = min(delay * 2, ceiling)

    async def runtime_status(self) -> RuntimeStatus | None:
        try:
            result = await self.client.status(timeout=CRI_TIMEOUT_S)
        except CRIError as error:
            log.warning("container runtime status: %s", error)
            return None
        return result.status or RuntimeStatus()
