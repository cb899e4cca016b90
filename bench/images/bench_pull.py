"""Image pull benchmark: our pull + unpack against containerd's CRI PullImage, same image, same run.

    python -m bench.images.bench_pull [--rounds 5] [--image docker.io/tinykube/big:50mb]
        [--containerd /run/containerd/containerd.sock] [--certs-d /etc/containerd/certs.d] [--dir DIR]

Needs (as root) the local registry seeded by `tinykube images seed` (the ~50 MB, 6-layer image) and
containerd with its CRI plugin using the same certs.d mirrors. Each round removes the image from both
(containerd's RemoveImage deletes content and snapshots synchronously; ours gets a fresh store) and
pulls it cold from the registry; rounds alternate which side goes first. Prints medians and ours/containerd.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from cri import domain as d
from cri.client import CRIClient
from shims.oci.catalog import BIG_TAG
from shims.oci.service import ImageStoreConfig, OciImages


@dataclass(kw_only=True)
class Timings:
    ours: list[float] = field(default_factory=list)
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


async def _pull_containerd(client: CRIClient, image: str) -> tuple[float, str]:
    await client.remove_image(image)
    started = time.perf_counter()
    image_id = await client.pull_image(image)
    return time.perf_counter() - started, image_id


async def run(args: argparse.Namespace) -> int:
    args.dir.mkdir(parents=True, exist_ok=True)
    timings = Timings()
    async with await CRIClient.connect(args.containerd, timeout=300) as client:
        for round_number in range(args.rounds):
            sides = ["ours", "containerd"] if round_number % 2 == 0 else ["containerd", "ours"]
            ids: dict[str, str] = {}
            for side in sides:
                if side == "ours":
                    seconds, ids[side] = await _pull_ours(args.image, certs_d=args.certs_d, work_dir=args.dir)
                    timings.ours.append(seconds)
                else:
                    seconds, ids[side] = await _pull_containerd(client, args.image)
                    timings.containerd.append(seconds)
            if ids["ours"] != ids["containerd"]:
                print(f"image ids differ: ours {ids['ours']}, containerd {ids['containerd']}")
                return 1
            ours, theirs = timings.ours[-1], timings.containerd[-1]
            print(f"round {round_number + 1}: ours {ours:.3f}s  containerd {theirs:.3f}s")
        await client.remove_image(args.image)
    ours, theirs = statistics.median(timings.ours), statistics.median(timings.containerd)
    print(f"\npull + unpack of {args.image} (median of {args.rounds}, cold each round)")
    print(f"  ours        {ours:.3f} s")
    print(f"  containerd  {theirs:.3f} s")
    print(f"  ratio ours/containerd = {ours / theirs:.2f}x (goal <= 1.0x)")
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
