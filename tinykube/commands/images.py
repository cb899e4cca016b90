"""`tinykube images`: seed the local test registry, build and push reproducible images.

tinykube images seed [--registry 127.0.0.1:5000] [--state-dir DIR] [--certs-d DIR]
                     [--registries-conf FILE] [--no-big]
tinykube images build --from-dir DIR [--cmd ...] [--entrypoint ...] [--env K=V] [--user U]
                      [--workdir W] [--label K=V] [--expose 80/tcp] --push REF [--push REF ...]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from cri.errors import CRIError
from shims.oci.builder import DEFAULT_ENV, ImageRecipe, build_image, host_tree
from shims.oci.push import push_image
from shims.oci.registry import RegistryClient
from shims.oci.seed import SeedOptions, seed


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinykube images", description="OCI image tools")
    commands = parser.add_subparsers(dest="command", required=True)
    seeding = commands.add_parser("seed", help="start or reuse a local registry and push the test images")
    seeding.add_argument(
        "--registry", default="127.0.0.1:5000", type=_registry_address, help="host:port of the local registry"
    )
    seeding.add_argument("--state-dir", type=Path, default=Path("/var/lib/tinykube/registry"),
                         help="registry config and storage, when this command starts it")  # fmt: skip
    seeding.add_argument("--certs-d", type=Path, default=Path("/etc/containerd/certs.d"),
                         help="containerd-style hosts.toml dir for mirror entries")  # fmt: skip
    seeding.add_argument("--registries-conf", type=Path, default=None,
                         help="also write a podman registries.conf drop-in here")  # fmt: skip
    seeding.add_argument("--no-big", action="store_true", help="skip the ~50 MB benchmark image")
    building = commands.add_parser("build", help="build a reproducible image from a directory and push it")
    building.add_argument("--from-dir", type=Path, required=True)
    building.add_argument("--entrypoint", nargs="*", default=[])
    building.add_argument("--cmd", nargs="*", default=[])
    building.add_argument("--env", action="append", default=[])
    building.add_argument("--user", default="")
    building.add_argument("--workdir", default="")
    building.add_argument("--label", action="append", default=[])
    building.add_argument("--expose", action="append", default=[])
    building.add_argument("--push", action="append", required=True, help="reference to push to (repeatable)")
    building.add_argument("--certs-d", type=Path, default=None)
    return parser


def _registry_address(text: str) -> str:
    host, colon, port = text.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not host:port (e.g. 127.0.0.1:5000)")
    return text


async def _seed(args: argparse.Namespace) -> int:
    options = SeedOptions(
        registry=args.registry, state_dir=args.state_dir, certs_d=args.certs_d,
        registries_conf=args.registries_conf, include_big=not args.no_big,
    )  # fmt: skip
    report = await seed(options)
    started = "started" if report.registry_started else "reused"
    print(f"registry {args.registry}: {started}; pushed {len(report.pushed)} tags, "
          f"{len(report.unchanged)} already current")  # fmt: skip
    for tag in report.pushed:
        print(f"  pushed {tag}")
    for path in report.mirrors_written:
        print(f"  wrote {path}")
    return 0


async def _build(args: argparse.Namespace) -> int:
    recipe = ImageRecipe(
        layers=(tuple(host_tree("", args.from_dir)),), entrypoint=tuple(args.entrypoint), cmd=tuple(args.cmd),
        env=tuple(args.env) or DEFAULT_ENV, user=args.user,
        working_dir=args.workdir, labels=dict(label.split("=", 1) for label in args.label),
        exposed_ports=tuple(args.expose),
    )  # fmt: skip
    image = await asyncio.to_thread(build_image, recipe)
    async with RegistryClient(certs_d=args.certs_d) as client:
        digest = await push_image(client, image, args.push)
    print(f"{digest} (image id {image.image_id})")
    return 0


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    run = _seed if args.command == "seed" else _build
    try:
        return asyncio.run(run(args))
    except CRIError as exc:
        print(f"tinykube images {args.command}: {exc.message}", file=sys.stderr)
        return 1
