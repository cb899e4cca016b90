"""`tinykube shim --backend NAME [--socket PATH] [--config FILE]`: serve CRI over a backend."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from cri.server import CRIServer, ServerOptions
from shims import backends, failpoints
from tinykube.daemon import configure_logging


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinykube shim", description="Run a CRI shim.")
    parser.add_argument("--backend", default="fake", help="fake, runc, containerd or podman (default: fake)")
    parser.add_argument("--socket", type=Path, help="unix socket (default: /run/tinykube/<backend>.sock)")
    parser.add_argument("--listen", help="also listen on this TCP address (host:port), for tests")
    parser.add_argument("--config", type=Path, help="the backend's config file (YAML)")
    parser.add_argument("--metrics-address", help="serve Prometheus metrics on host:port")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser


async def _serve(factory: backends.BackendFactory, args: argparse.Namespace) -> None:
    socket = args.socket or Path(f"/run/tinykube/{args.backend}.sock")
    options = ServerOptions(socket=socket, tcp_address=args.listen, metrics_address=args.metrics_address)
    async with factory(args.config) as opened:
        server = CRIServer(opened.runtime, opened.images, options)
        await server.serve_until_signalled()


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args.log_level)
    if args.config is not None and not args.config.is_file():
        print(f"tinykube shim: config file {args.config} does not exist", file=sys.stderr)
        return 2
    try:
        failpoints.enabled()
    except ValueError as exc:
        print(f"tinykube shim: {exc}", file=sys.stderr)
        return 2
    try:
        factory = backends.load(args.backend)
    except backends.UnknownBackend as exc:
        print(f"tinykube shim: {exc.args[0]}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(factory, args))
    except backends.BackendConfigError as exc:  # only loading the config raises it; it names the field
        print(f"tinykube shim: {args.config}: {exc}", file=sys.stderr)
        return 2
    return 0
