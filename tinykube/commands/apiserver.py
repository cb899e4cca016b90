"""`tinykube apiserver --data-dir DIR [--storage sqlite:PATH|etcd:URL,...|memory] [--listen 127.0.0.1:6443]`:
the Kubernetes API over the store, HTTPS with client-certificate and token authentication."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from api.server.server import ApiServer, ServerConfig
from api.server.storage import open_store
from tinykube.commands.store import listen_address
from tinykube.daemon import StartupError, configure_logging, run_daemon

DEFAULT_DATA_DIR = Path("/var/lib/tinykube/apiserver")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinykube apiserver", description="The Kubernetes API server.")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                        help=f"PKI and default database (default {DEFAULT_DATA_DIR})")
    parser.add_argument("--storage", default="sqlite:",
                        help="sqlite:PATH (default: DATA_DIR/state.db), etcd:HOST:PORT[,...] or memory")
    parser.add_argument("--listen", type=listen_address, default="127.0.0.1:6443",
                        help="host:port (default 127.0.0.1:6443; port 0 picks one)")
    parser.add_argument("--write-kubeconfig", type=Path, help="write an admin kubeconfig here (mode 0600)")
    parser.add_argument("--token-auth-file", type=Path, help="CSV of token,user,uid,\"group1,group2\"")
    parser.add_argument("--compaction-interval", type=float, default=300.0,
                        help="seconds of history kept for watches and continue tokens (default 300)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser


def _load(args: argparse.Namespace) -> argparse.Namespace:
    try:
        args.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StartupError(f"--data-dir {args.data_dir}: {exc.strerror}") from exc
    return args


async def _serve(args: argparse.Namespace) -> None:
    host, _, port = args.listen.rpartition(":")
    config = ServerConfig(data_dir=args.data_dir, host=host.strip("[]"), port=int(port),
                          token_file=args.token_auth_file, kubeconfig=args.write_kubeconfig,
                          compaction_interval=args.compaction_interval)
    async with open_store(args.storage, args.data_dir, compaction_interval=args.compaction_interval) as store:
        server = ApiServer(config, store)
        stop = asyncio.Event()
        serving = asyncio.ensure_future(server.run(stop, ready=lambda: print(
            f"tinykube apiserver: serving on {server.url}", flush=True)))
        try:
            await asyncio.shield(serving)
        except asyncio.CancelledError:
            stop.set()  # a signal: end the watches and close the listener cleanly
            await serving
            raise


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args.log_level)
    return run_daemon("apiserver", lambda: _load(args), _serve)
