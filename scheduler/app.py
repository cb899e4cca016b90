"""The scheduler daemon's composition: informers, health and metrics, leader election, scheduling."""

from __future__ import annotations

import asyncio
import socket
import uuid
from dataclasses import dataclass

from api.client.clock import Clock
from api.client.health import HealthServer
from api.client.informer import InformerFactory
from api.client.leaderelection import LeaderElectionConfig, LeaderElector
from api.client.protocol import Api
from scheduler.config import SchedulerConfig
from scheduler.kube import ApiCluster, watch_cluster
from scheduler.scheduler import Scheduler

DEFAULT_HEALTH_PORT = 10259


@dataclass(frozen=True)
class Options:
    health_host: str = "127.0.0.1"
    health_port: int = DEFAULT_HEALTH_PORT
    identity: str = ""


def default_identity() -> str:
    """hostname_uuid, as kube-scheduler names itself in the Lease."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


class SchedulerApp:
    def __init__(
        self, api: Api, config: SchedulerConfig, options: Options, *, clock: Clock | None = None
    ) -> None:
        self.api = api
        self.config = config
        cluster = ApiCluster(api, config.profiles[0].scheduler_name, clock)
        self.scheduler = Scheduler(config, cluster)
        self.informers = InformerFactory(api)
        watch_cluster(self.informers, self.scheduler)
        self.health = HealthServer(
            host=options.health_host, port=options.health_port, registry=self.scheduler.metrics.registry
        )
        self.elector = LeaderElector(
            api,
            LeaderElectionConfig(
                lease_name=config.lease_name,
                namespace=config.lease_namespace,
                identity=options.identity or default_identity(),
            ),
            clock=clock,
        )
        if config.leader_elect:
            self.health.add_check("leaderElection", self.elector.healthy)

    @property
    def leading(self) -> bool:
        return not self.config.leader_elect or self.elector.is_leader

    async def run(self) -> None:
        """Health and informers at once; scheduling once synced and (with leader election) leading."""
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.health.run())
            tasks.create_task(self.informers.run())
            await self.informers.wait_synced()
            if self.config.leader_elect:
                await self.elector.run(self.scheduler.run)
            else:
                await self.scheduler.run()
