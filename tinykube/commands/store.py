"""`tinykube store serve --listen 127.0.0.1:PORT [--data DIR]`: the embedded store as an etcd v3 endpoint."""

from __future__ import annotations

import argparse
import ipaddress
from pathlib import Path

from api.storage.etcdserver import EtcdEndpoint
from api.storage.sqlite import SQLiteOptions, SQLiteStore
from api.storage.sqlite.maintenance import CompactionPolicy
from tinykube.daemon import StartupError, configure_logging, run_daemon, until_cancelled

DEFAULT_DATA_DIR = Path("/var/lib/tinykube/store")
DATABASE_NAME = "state.db"


def listen_address(text: str) -> str:
    """host:port with a literal IP (or localhost) and a port in 0..65535 (0 picks a free one)."""
    host, separator, port = text.rpartition(":")
    if not separator or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not host:port with a port in 0..65535")
    bare = host.strip("[]")
    if bare != "localhost":
        try:
            ipaddress.ip_address(bare)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{host!r} in {text!r} is not an IP address") from exc
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinykube store", description="The etcd-like store.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the etcd v3 KV, Watch, Lease and Status APIs")
    serve.add_argument(
        "--listen",
        type=listen_address,
        default="127.0.0.1:2379",
        help="host:port (default 127.0.0.1:2379; port 0 picks one)",
    )
    serve.add_argument(
        "--data", type=Path, default=DEFAULT_DATA_DIR, help=f"data directory (default {DEFAULT_DATA_DIR})"
    )
    serve.add_argument("--compact-interval", type=float, default=60.0, help="seconds between compactions")
    serve.add_argument("--retain-seconds", type=float, default=300.0, help="history kept at least this long")
    serve.add_argument(
        "--retain-revisions", type=int, default=1000, help="history kept at least this many revisions"
    )
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser


def _data_dir(args: argparse.Namespace) -> argparse.Namespace:
    try:
        args.data.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StartupError(f"data directory {args.data}: {exc.strerror}") from exc
    return args


async def _serve(args: argparse.Namespace) -> None:
    policy = CompactionPolicy(
        interval=args.compact_interval,
        retain_seconds=args.retain_seconds,
        retain_revisions=args.retain_revisions,
    )
    async with SQLiteStore(args.data / DATABASE_NAME, SQLiteOptions(compaction=policy)) as store:
        endpoint = EtcdEndpoint(store, listen=args.listen)
        try:
            await endpoint.start()
        except OSError as exc:
            raise StartupError(str(exc)) from exc
        print(f"tinykube store: serving etcd v3 on {endpoint.address}", flush=True)
        try:
            await until_cancelled()
        finally:
            await endpoint.stop()


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args.log_level)
    return run_daemon("store", lambda: _data_dir(args), _serve)
