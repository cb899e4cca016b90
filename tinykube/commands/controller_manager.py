"""`tinykube controller-manager --kubeconfig FILE`: controllers behind leader election, /healthz, /metrics.

As kube-controller-manager: one instance at a time leads (Lease ``kube-system/kube-controller-manager``,
15/10/2 s), the others wait to take over; ``--leader-elect=false`` runs at once. Every controller shares
one informer factory, so each resource costs the apiserver one watch.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry, ProcessCollector

from api.client.health import HealthServer
from api.client.informer import InformerFactory
from api.client.kubeconfig import ClientConfig, KubeconfigError, load_kubeconfig
from api.client.leaderelection import LeaderElectionConfig, LeaderElector
from api.client.metrics import QueueMetrics
from api.client.protocol import Api
from api.client.rest import RestClient
from controllers.deployment import DeploymentController
from controllers.garbagecollector import GarbageCollector
from controllers.replicaset import ReplicaSetController
from tinykube.daemon import StartupError, configure_logging, run_daemon

LEASE_NAME = "kube-controller-manager"
LEASE_NAMESPACE = "kube-system"
DEFAULT_HEALTH_PORT = 10257


@dataclass(frozen=True, kw_only=True)
class ControllerManagerConfig:
    client: ClientConfig
    leader_elect: bool
    identity: str
    health_port: int
    replicaset_workers: int
    deployment_workers: int


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinykube controller-manager", description="Run the controllers.")
    parser.add_argument("--kubeconfig", type=Path, help="kubeconfig (default: $KUBECONFIG, ~/.kube/config)")
    parser.add_argument(
        "--leader-elect",
        default=True,
        action=argparse.BooleanOptionalAction,
        help="lead only while holding the kube-system/kube-controller-manager Lease (default true)",
    )
    parser.add_argument(
        "--health-port",
        type=int,
        default=DEFAULT_HEALTH_PORT,
        help=f"/healthz and /metrics on 127.0.0.1 (default {DEFAULT_HEALTH_PORT}; 0 picks one)",
    )
    parser.add_argument("--concurrent-replicaset-syncs", type=int, default=5, help="ReplicaSet workers")
    parser.add_argument("--concurrent-deployment-syncs", type=int, default=5, help="Deployment workers")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser


def load_config(args: argparse.Namespace) -> ControllerManagerConfig:
    try:
        client = load_kubeconfig(args.kubeconfig)
    except KubeconfigError as error:
        raise StartupError(str(error)) from error
    return ControllerManagerConfig(
        client=client,
        leader_elect=args.leader_elect,
        identity=f"{socket.gethostname()}_{uuid.uuid4()}",
        health_port=args.health_port,
        replicaset_workers=args.concurrent_replicaset_syncs,
        deployment_workers=args.concurrent_deployment_syncs,
    )


async def run_controllers(api: Api, config: ControllerManagerConfig, metrics: QueueMetrics) -> None:
    factory = InformerFactory(api)
    replicasets = ReplicaSetController(api, factory, workers=config.replicaset_workers, metrics=metrics)
    deployments = DeploymentController(api, factory, workers=config.deployment_workers, metrics=metrics)
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(factory.run())
        tasks.create_task(replicasets.run())
        tasks.create_task(deployments.run())
        tasks.create_task(GarbageCollector(api, factory, metrics=metrics).run())


async def serve(config: ControllerManagerConfig) -> None:
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    metrics = QueueMetrics(registry)
    health = HealthServer(port=config.health_port, registry=registry)
    async with RestClient(config.client, user_agent="tinykube-controller-manager") as api:
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(health.run())
                if config.leader_elect:
                    election = LeaderElectionConfig(
                        lease_name=LEASE_NAME, namespace=LEASE_NAMESPACE, identity=config.identity
                    )
                    elector = LeaderElector(api, election)
                    health.add_check("leaderElection", elector.healthy)
                    await elector.run(lambda: run_controllers(api, config, metrics))
                else:
                    await run_controllers(api, config, metrics)
        except* OSError as group:
            raise StartupError(
                f"health server on 127.0.0.1:{config.health_port}: {group.exceptions[0]}"
            ) from None


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args.log_level)
    return run_daemon("controller-manager", lambda: load_config(args), serve)
