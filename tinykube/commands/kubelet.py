"""`tinykube kubelet --config FILE [--kubeconfig FILE] [flags]`: the kubelet, standalone (static pods)
or, with a kubeconfig, as a node of that apiserver's cluster."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

from api.client.kubeconfig import ClientConfig, KubeconfigError, load_kubeconfig
from api.client.protocol import Api
from api.client.rest import RestClient
from cri.client import CRIClient
from cri.errors import CRIError
from kubelet.config import ConfigError, KubeletConfiguration, add_flags, apply_flags, load_config
from kubelet.native_memory import limit_arenas, trim_periodically
from kubelet.node import build_kubelet
from kubelet.server import KubeletServer, ServerAuth
from tinykube.daemon import StartupError, configure_logging, run_daemon

log = logging.getLogger("tinykube.kubelet")
CONNECT_TIMEOUT_S = 30.0


@dataclass(frozen=True, kw_only=True)
class KubeletStart:
    config: KubeletConfiguration
    auth: ServerAuth
    cluster: ClientConfig | None = None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinykube kubelet", description="Run the kubelet with static pods from a manifest directory."
    )
    parser.add_argument(
        "--config", type=Path, help="a KubeletConfiguration (kubelet.config.k8s.io/v1beta1) YAML"
    )
    parser.add_argument(
        "--kubeconfig", type=Path, help="kubeconfig of the apiserver: register as a node of its cluster"
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    add_flags(parser)
    return parser


def _check_socket(endpoint: str) -> None:
    path = endpoint.removeprefix("unix://")
    if endpoint.startswith(("unix://", "/")) and not Path(path).exists():
        raise StartupError(f"container runtime socket {path} does not exist (is the runtime running?)")


def _load(args: argparse.Namespace) -> KubeletStart:
    try:
        config = apply_flags(load_config(args.config), args)
        auth = ServerAuth.from_config(config)
        cluster = load_kubeconfig(args.kubeconfig) if args.kubeconfig else None
    except (ConfigError, KubeconfigError) as exc:
        raise StartupError(str(exc)) from exc
    _check_socket(config.container_runtime_endpoint)
    if config.image_service_endpoint:
        _check_socket(config.image_service_endpoint)
    return KubeletStart(config=config, auth=auth, cluster=cluster)


async def _connect(config: KubeletConfiguration) -> CRIClient:
    try:
        return await CRIClient.connect(
            config.container_runtime_endpoint,
            image_endpoint=config.image_service_endpoint or None,
            timeout=CONNECT_TIMEOUT_S,
        )
    except CRIError as exc:
        raise StartupError(f"container runtime: {exc.message}") from exc


async def _listen(server: KubeletServer, config: KubeletConfiguration) -> None:
    try:
        await server.start()
    except OSError as exc:
        raise StartupError(f"cannot listen on {config.address}:{config.port}: {exc.strerror or exc}") from exc
    log.info(
        "kubelet serving on %s:%d, static pods from %s", config.address, server.port, config.static_pod_path
    )


async def _run(start: KubeletStart) -> None:
    """The kubelet's loops, the malloc trimmer and (its lifetime spanning theirs) the HTTP API."""
    config = start.config
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(await _connect(config))
        api: Api | None = None
        if start.cluster is not None:
            api = await stack.enter_async_context(RestClient(start.cluster, user_agent="tinykube-kubelet"))
        kubelet = build_kubelet(config, client, api=api)
        server = KubeletServer(kubelet, config, start.auth)
        await _listen(server, config)
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(kubelet.run(), name="kubelet")
                tasks.create_task(trim_periodically(), name="malloc-trim")
        finally:
            await server.stop()


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args.log_level)
    limit_arenas()
    return run_daemon("kubelet", lambda: _load(args), _run)
