"""The floor under any runtime built on runc and CNI, on this host: per pod a CNI ADD (bridge,
host-local, portmap) into a fresh network namespace, then ``runc create`` + ``runc start`` of a
busybox ``sleep`` in it, all pods at once, with no CRI, shim, conmon, overlay or kubelet in the way.

The namespaces and bundles (runc's own default spec, read-only rootfs) are made before the clock
starts. A per-pod latency here is what the host's tools alone take; a runtime and the kubelet can
only add to it.

    python -m bench.kubelet.floor [--pods 30] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.kubelet.direct_cri import DirectResult
from shims.node import cgroups, cni, namespaces
from tinykube.testbeds.runc_shim import Layout, make_layout

RUNC = "runc"
CGROUP_PARENT = "/tinykube-bench-floor"
BIN_DIRS = (Path("/usr/lib/cni"), Path("/opt/cni/bin"))


@dataclass(frozen=True, kw_only=True)
class _Pod:
    name: str
    netns: Path
    bundle: Path
    attachment: cni.Attachment


async def _runc(runc_root: Path, *arguments: str) -> None:
    """``runc create`` hands its stdio to the container: errors come through runc's log file."""
    log = runc_root.parent / f"runc-{arguments[-1]}.log"
    argv = (RUNC, "--root", str(runc_root), "--log", str(log), *arguments)
    process = await asyncio.create_subprocess_exec(
        *argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    if await process.wait() != 0:
        raise RuntimeError(f"runc {' '.join(arguments)}: {log.read_text(errors='replace').strip()}")


def _default_spec(directory: Path) -> dict[str, Any]:
    """Blocking: what ``runc spec`` writes."""
    directory.mkdir(parents=True)
    subprocess.run([RUNC, "spec", "--bundle", str(directory)], check=True)
    spec: dict[str, Any] = json.loads((directory / "config.json").read_text())
    return spec


def _write_spec(bundle: Path, default: dict[str, Any], *, rootfs: Path, netns: Path, cgroup: str) -> None:
    """Blocking: runc's default spec, running ``sleep 3600`` in ``netns`` on a read-only rootfs."""
    bundle.mkdir(parents=True)
    spec = copy.deepcopy(default)
    spec["process"].update(terminal=False, args=["sleep", "3600"])
    spec["root"] = {"path": str(rootfs), "readonly": True}
    spec["hostname"] = bundle.name
    kept = [n for n in spec["linux"]["namespaces"] if n["type"] != "network"]
    spec["linux"]["namespaces"] = [*kept, {"type": "network", "path": str(netns)}]
    spec["linux"]["cgroupsPath"] = cgroup
    (bundle / "config.json").write_text(json.dumps(spec))


async def _prepare(layout: Layout, default: dict[str, Any], work: Path, index: int) -> _Pod:
    name = f"floor-{index}"
    pinned = await namespaces.pin(work / name / "ns", network=True, ipc=False, uts=False, hostname=name)
    assert pinned.network is not None
    netns = pinned.network
    bundle = work / name / "bundle"
    await asyncio.to_thread(
        _write_spec,
        bundle,
        default,
        rootfs=layout.base / "rootfs",
        netns=netns,
        cgroup=f"{CGROUP_PARENT}/{name}",
    )
    attachment = cni.Attachment(container_id=name, netns=str(netns), pod_name=name, pod_namespace="bench")
    return _Pod(name=name, netns=netns, bundle=bundle, attachment=attachment)


async def _start(pod: _Pod, network: cni.NetworkList, runc_root: Path) -> None:
    await cni.add(network, pod.attachment, bin_dirs=BIN_DIRS)
    await _runc(runc_root, "create", "--bundle", str(pod.bundle), pod.name)
    await _runc(runc_root, "start", pod.name)


async def _clean(pod: _Pod, network: cni.NetworkList, runc_root: Path) -> None:
    """Every step is tried, whatever the one before did (the pod may have failed half-way)."""
    with contextlib.suppress(RuntimeError):
        await _runc(runc_root, "delete", "--force", pod.name)
    with contextlib.suppress(cni.CNIError):
        await cni.delete(network, pod.attachment, bin_dirs=BIN_DIRS, prev_result=None)
    await asyncio.to_thread(namespaces.unpin_paths, (pod.netns,))


async def measure_floor(base: Path, *, pods: int) -> DirectResult:
    layout = await asyncio.to_thread(make_layout, base / "layout")
    network = cni.find_network(layout.base / "net.d")
    assert network is not None
    runc_root = base / "runc"
    default = await asyncio.to_thread(_default_spec, base / "default-spec")
    prepared: list[_Pod] = []
    per_pod: list[float] = []

    async def one(pod: _Pod) -> None:
        await _start(pod, network, runc_root)
        per_pod.append(time.monotonic() - started)

    try:
        for index in range(pods):
            prepared.append(await _prepare(layout, default, base / "pods", index))
        started = time.monotonic()
        await asyncio.gather(*(one(pod) for pod in prepared))
        return DirectResult(all_running_s=time.monotonic() - started, per_pod_s=per_pod)
    finally:
        await asyncio.gather(*(_clean(pod, network, runc_root) for pod in prepared), return_exceptions=True)
        await asyncio.to_thread(cgroups.remove, CGROUP_PARENT)


def describe(results: list[DirectResult]) -> str:
    def med(values: list[float]) -> float:
        return statistics.median(values)

    return (
        f"all {med([r.all_running_s for r in results]):.2f}s, "
        f"p50 {med([r.percentile(0.5) for r in results]):.2f}s, "
        f"p99 {med([r.percentile(0.99) for r in results]):.2f}s"
    )


async def _main(pods: int, runs: int) -> None:
    results = []
    for attempt in range(runs):
        with tempfile.TemporaryDirectory(prefix="tinykube-bench-floor-") as directory:
            results.append(await measure_floor(Path(directory), pods=pods))
        print(f"run {attempt + 1}: {describe(results[-1:])}", file=sys.stderr)
    summary = describe(results)
    print(f"{pods} pods, CNI ADD then runc create + start, all at once (medians of {runs}): {summary}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(_main(args.pods, args.runs))


if __name__ == "__main__":
    main()
