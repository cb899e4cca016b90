"""Image pull benchmark: our pulls against containerd's CRI PullImage, same image, same run.

Ours twice: into our own OCI store (the runc shim's), and into containerd's stores through its native
API (the containerd shim's, in a namespace of its own: both containerd sides drive the same daemon).

    python -m bench.images.bench_pull [--rounds 5] [--image docker.io/tinykube/big:50mb]
        [--containerd /run/containerd/containerd.sock] [--certs-d /etc/containerd/certs.d] [--dir DIR]

Needs (as root) the local registry seeded by `tinykube images seed` (the ~50 MB, 6-layer image) and
containerd with its CRI plugin using the same certs.d mirrors. Each round removes the image
from both containerd namespaces before every pull (containerd shares blobs across namespaces; its CRI's
RemoveImage and the containerd shim's delete content and snapshots synchronously; our OCI store is a
fresh one), so each pull is cold from the registry; rounds rotate which side goes first.
Prints medians and each of ours over containerd's.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cri import domain as d
from cri.client import CRIClient
from shims.containerd.client import open_client
from shims.containerd.images import ContainerdImages, ImagesConfig
from shims.oci.catalog import BIG_TAG
from shims.oci.service import ImageStoreConfig, OciImages


@dataclass(kw_only=True)
class Timings:
    ours: list[float] = field(default_factory=list)
    shim: list[float] = field(default_factory=list)
    containerd: list[float] = field(default_factory=list)


async def _pull_ours(image: str, *, certs_d: Path, work_dir: Path) -> tuple[float, str]:
    root = Path(tempfile.mkdtemp(prefix="store-", dir=work_dir))
    try:
        async with OciImages.open(ImageStoreConfig(root=root, certs_d=certs_d)) as images:
            started = time.perf_counter()
            image_id = await images.pull_image(d.ImageSpec(image=image), None, None)
            return time.perf_counter() - started, image_id
    finally:
        await asyncio.to_thread(shutil.rmtree, root, True)


async def _pull_shim(images: ContainerdImages, image: str) -> tuple[float, str]:
    started = time.perf_counter()
    image_id = await images.pull_image(d.ImageSpec(image=image), None, None)
    return time.perf_counter() - started, image_id


async def _pull_containerd(client: CRIClient, image: str) -> tuple[float, str]:
    started = time.perf_counter()
    image_id = await client.pull_image(image)
    return time.perf_counter() - started, image_id


@asynccontextmanager
async def _containerd_shim_images(address: str, certs_d: Path) -> AsyncIterator[ContainerdImages]:
    """The containerd shim's ImageService in a namespace of its own, removed afterwards."""
    namespace = f"tinykube-bench-{secrets.token_hex(4)}"
    async with open_client(address, namespace=namespace) as containerd:
        await containerd.namespaces.create(namespace)
        try:
            async with ContainerdImages.open(containerd, ImagesConfig(certs_d=certs_d)) as images:
                yield images
                for image in await images.stored():
                    await images.remove_image(d.ImageSpec(image=image.target.id))
        finally:
            await containerd.namespaces.delete(namespace)


async def run(args: argparse.Namespace) -> int:
    args.dir.mkdir(parents=True, exist_ok=True)
    timings = Timings()
    async with (
        await CRIClient.connect(args.containerd, timeout=300) as client,
        _containerd_shim_images(args.containerd, args.certs_d) as shim_images,
    ):
        pulls = {
            "ours": lambda: _pull_ours(args.image, certs_d=args.certs_d, work_dir=args.dir),
            "shim": lambda: _pull_shim(shim_images, args.image),
            "containerd": lambda: _pull_containerd(client, args.image),
        }
        for round_number in range(args.rounds):
            names = list(pulls)
            sides = names[round_number % 3 :] + names[: round_number % 3]
            ids: dict[str, str] = {}
            for side in sides:
                # containerd shares blobs across namespaces: neither containerd side may find the other's
                await client.remove_image(args.image)
                await shim_images.remove_image(d.ImageSpec(image=args.image))
                seconds, ids[side] = await pulls[side]()
                getattr(timings, side).append(seconds)
            if len(set(ids.values())) != 1:
                print(f"image ids differ: {ids}")
                return 1
            ours, shim, theirs = timings.ours[-1], timings.shim[-1], timings.containerd[-1]
            print(f"round {round_number + 1}: ours {ours:.3f}s  shim {shim:.3f}s  containerd {theirs:.3f}s")
        await client.remove_image(args.image)
    ours, shim = statistics.median(timings.ours), statistics.median(timings.shim)
    theirs = statistics.median(timings.containerd)
    print(f"\npull + unpack of {args.image} (median of {args.rounds}, cold each round)")
    print(f"  ours (OCI store)               {ours:.3f} s")
    print(f"  containerd shim (its stores)   {shim:.3f} s")
    print(f"  containerd CRI                 {theirs:.3f} s")
    print(f"  ratio ours/containerd = {ours / theirs:.2f}x (goal <= 1.0x)")
    print(f"  ratio containerd shim/containerd = {shim / theirs:.2f}x (goal <= 1.0x)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.images.bench_pull", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--image", default=BIG_TAG)
    parser.add_argument("--containerd", default="/run/containerd/containerd.sock")
    parser.add_argument("--certs-d", type=Path, default=Path("/etc/containerd/certs.d"))
    parser.add_argument("--dir", type=Path, default=Path("/var/lib/tinykube/bench-images"))
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
