"""`tinykube shim --backend NAME [--socket PATH] [--config FILE]`: serve CRI over a backend."""

from __future__ import annotations

import argparse
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

from cri.server import CRIServer, ServerOptions
from shims import backends, failpoints
from tinykube.daemon import StartupError, configure_logging, run_daemon, until_cancelled


@dataclass(frozen=True, kw_only=True)
class ShimStart:
    """A backend whose configuration has been read, and where to serve it."""

    backends: AbstractAsyncContextManager[backends.Backends]
    options: ServerOptions


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinykube shim", description="Run a CRI shim.")
    parser.add_argument("--backend", default="fake", help="fake, runc, containerd or podman (default: fake)")
    parser.add_argument("--socket", type=Path, help="unix socket (default: /run/tinykube/<backend>.sock)")
    parser.add_argument("--listen", help="also listen on this TCP address (host:port), for tests")
    parser.add_argument("--config", type=Path, help="the backend's config file (YAML)")
    parser.add_argument("--metrics-address", help="serve Prometheus metrics on host:port")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser


def _load(args: argparse.Namespace) -> ShimStart:
    if args.config is not None and not args.config.is_file():
        raise StartupError(f"config file {args.config} does not exist")
    try:
        failpoints.enabled()
    except ValueError as exc:
        raise StartupError(str(exc)) from exc
    try:
        factory = backends.load(args.backend)
    except backends.UnknownBackend as exc:
        raise StartupError(exc.args[0]) from exc
    try:
        opener = factory(args.config)
    except backends.BackendConfigError as exc:  # reading the config raises it; it names the field
        raise StartupError(f"{args.config}: {exc}") from exc
    except backends.UnknownBackend as exc:  # a backend in the build that cannot serve yet
        raise StartupError(exc.args[0]) from exc
    socket = args.socket or Path(f"/run/tinykube/{args.backend}.sock")
    options = ServerOptions(socket=socket, tcp_address=args.listen, metrics_address=args.metrics_address)
    return ShimStart(backends=opener, options=options)


async def _serve(start: ShimStart) -> None:
    async with start.backends as opened:
        server = CRIServer(opened.runtime, opened.images, start.options)
        await server.start()
        try:
            await until_cancelled()
        finally:
            await server.stop()


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args.log_level)
    return run_daemon("shim", lambda: _load(args), _serve)
