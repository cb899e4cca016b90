"""`tinykube scheduler --kubeconfig FILE [--config FILE]`: kube-scheduler for an apiserver."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from pathlib import Path

from api.client.kubeconfig import ClientConfig, KubeconfigError, load_kubeconfig
from api.client.rest import RestClient
from scheduler.app import DEFAULT_HEALTH_PORT, Options, SchedulerApp
from scheduler.config import ConfigError, SchedulerConfig, load_config
from scheduler.plugins.registry import in_tree_registry
from tinykube.daemon import StartupError, configure_logging, run_daemon


@dataclass(frozen=True)
class SchedulerStart:
    client: ClientConfig
    config: SchedulerConfig
    options: Options


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinykube scheduler",
        description="Assign pods to nodes through the apiserver, as kube-scheduler.",
    )
    parser.add_argument("--kubeconfig", type=Path, required=True, help="kubeconfig of the apiserver")
    parser.add_argument(
        "--config", type=Path, help="a KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1)"
    )
    parser.add_argument(
        "--leader-elect",
        choices=["true", "false"],
        help="hold a coordination.k8s.io Lease to schedule (default: the configuration's, true)",
    )
    parser.add_argument(
        "--bind-address", default="127.0.0.1", help="/healthz and /metrics address (loopback)"
    )
    parser.add_argument(
        "--secure-port", type=int, default=DEFAULT_HEALTH_PORT, help="/healthz and /metrics port"
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser


def _load(args: argparse.Namespace) -> SchedulerStart:
    try:
        client = load_kubeconfig(args.kubeconfig)
        text = args.config.read_text() if args.config else None
        config = load_config(text, in_tree_registry().names()) if text is not None else SchedulerConfig()
    except (KubeconfigError, ConfigError) as exc:
        raise StartupError(str(exc)) from exc
    except OSError as exc:
        raise StartupError(f"{exc.filename}: {exc.strerror}") from exc
    if args.leader_elect is not None:
        config = dataclasses.replace(config, leader_elect=args.leader_elect == "true")
    return SchedulerStart(client, config, Options(args.bind_address, args.secure_port))


async def _run(start: SchedulerStart) -> None:
    async with RestClient(start.client, user_agent="tinykube-scheduler") as api:
        try:
            app = SchedulerApp(api, start.config, start.options)
        except ValueError as exc:
            raise StartupError(str(exc)) from exc
        try:
            await app.run()
        except* OSError as group:
            address = f"{start.options.health_host}:{start.options.health_port}"
            raise StartupError(f"health server on {address}: {group.exceptions[0]}") from None


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args.log_level)
    return run_daemon("scheduler", lambda: _load(args), _run)
