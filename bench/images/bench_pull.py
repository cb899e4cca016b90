"""Image pull benchmark: our pull + unpack against containerd's CRI PullImage, same image, same run.

Ours is timed twice: in-process (the image service's own cost) and through PullImage of a CRI server
serving it on a private socket, as containerd's is timed through its RPC; the like-for-like ratio is
the RPC one.

    python -m bench.images.bench_pull [--rounds 5] [--image docker.io/tinykube/big:50mb]
        [--containerd /run/containerd/containerd.sock] [--certs-d /etc/containerd/certs.d] [--dir DIR]

Needs (as root) the local registry seeded by `tinykube images seed` (the ~50 MB, 6-layer image) and
containerd with its CRI plugin using the same certs.d mirrors. Each round removes the image from both
(containerd's RemoveImage deletes content and snapshots synchronously; ours gets a fresh store) and
pulls it cold from the registry; rounds rotate which side goes first. Prints medians and ours/containerd.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from cri import domain as d
from cri.client import CRIClient
from cri.server import CRIServer, ServerOptions
from shims.fake import FakeRuntime
from shims.oci.catalog import BIG_TAG
from shims.oci.service import ImageStoreConfig, OciImages

SIDES = ("ours (RPC)", "ours (in-process)", "containerd")


async def _pull_ours(image: str, *, certs_d: Path, work_dir: Path) -> tuple[float, str]:
    root = Path(tempfile.mkdtemp(prefix="store-", dir=work_dir))
    try:
        async with OciImages.open(ImageStoreConfig(root=root, certs_d=certs_d)) as images:
            started = time.perf_counter()
            image_id = await images.pull_image(d.ImageSpec(image=image), None, None)
            return time.perf_counter() - started, image_id
    finally:
        await asyncio.to_thread(shutil.rmtree, root, True)


async def _pull_ours_over_rpc(image: str, *, certs_d: Path, work_dir: Path) -> tuple[float, str]:
    """Our image service behind a CRI server on a private socket, timed through its PullImage."""
    root = Path(tempfile.mkdtemp(prefix="store-", dir=work_dir))
    try:
        async with OciImages.open(ImageStoreConfig(root=root, certs_d=certs_d)) as images:
            server = CRIServer(FakeRuntime(), images, ServerOptions(socket=root / "run" / "cri.sock"))
            await server.start()
            try:
                async with await CRIClient.connect(f"unix://{root}/run/cri.sock", timeout=300) as client:
                    started = time.perf_counter()
                    image_id = await client.pull_image(image)
                    return time.perf_counter() - started, image_id
            finally:
                await server.stop()
    finally:
        await asyncio.to_thread(shutil.rmtree, root, True)


async def _pull_containerd(client: CRIClient, image: str) -> tuple[float, str]:
    await client.remove_image(image)
    started = time.perf_counter()
    image_id = await client.pull_image(image)
    return time.perf_counter() - started, image_id


async def run(args: argparse.Namespace) -> int:
    args.dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, list[float]] = {side: [] for side in SIDES}
    async with await CRIClient.connect(args.containerd, timeout=300) as client:
        for round_number in range(args.rounds):
            ids: dict[str, str] = {}
            for side in SIDES[round_number % 3 :] + SIDES[: round_number % 3]:
                seconds, ids[side] = await _pull(side, client, args)
                timings[side].append(seconds)
            if len(set(ids.values())) != 1:
                print(f"image ids differ: {ids}")
                return 1
            print(
                f"round {round_number + 1}: "
                + "  ".join(f"{side} {timings[side][-1]:.3f}s" for side in SIDES)
            )
        await client.remove_image(args.image)
    medians = {side: statistics.median(times) for side, times in timings.items()}
    print(f"\npull + unpack of {args.image} (median of {args.rounds}, cold each round)")
    for side in SIDES:
        print(f"  {side:<18} {medians[side]:.3f} s")
    reference = medians["containerd"]
    print(f"  ratio ours (RPC)/containerd = {medians['ours (RPC)'] / reference:.2f}x (goal <= 1.0x)")
    print(f"  ratio ours (in-process)/containerd = {medians['ours (in-process)'] / reference:.2f}x")
    return 0


async def _pull(side: str, client: CRIClient, args: argparse.Namespace) -> tuple[float, str]:
    if side == "containerd":
        return await _pull_containerd(client, args.image)
    pull = _pull_ours_over_rpc if side == "ours (RPC)" else _pull_ours
    return await pull(args.image, certs_d=args.certs_d, work_dir=args.dir)


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
