"""Differential mode: run lifecycle scenarios on two CRI endpoints and report what differs.

Each scenario is a sequence of steps; a step records what a client can observe (states, codes,
fields, log bytes) with ids and timestamps normalised away, so the two recordings compare directly.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance import images
from conformance.pod import LOG_ROOT
from conformance.workspace import Workspace, sweep
from cri import domain as d
from cri.client import CRIClient
from cri.errors import CRIError

MISSING = "0" * 63 + "f"
LOG_PREFIX = re.compile(r"^\S+ ", re.MULTILINE)


@dataclass
class Recording:
    log_root: Path  # this side's own directory for its pods' logs, fresh for the run
    exit_wait: float = 15.0  # how long a scenario waits for a container to exit by itself
    steps: list[tuple[str, str]] = field(default_factory=list)

    def add(self, step: str, value: object) -> None:
        self.steps.append((step, str(_sorted(value))))

    async def observe(
        self, step: str, call: Awaitable[Any], shape: Callable[[Any], object] = lambda _: "ok"
    ) -> Any:
        try:
            value = await call
        except CRIError as exc:
            self.add(step, f"error {exc.code.name}")
            return None
        self.add(step, shape(value))
        return value


def _sorted(value: object) -> object:
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    return value


def _container_view(result: d.ContainerStatusResult) -> object:
    s = result.status
    if s is None:
        return "no status"
    return {
        "state": s.state.name, "exit_code": s.exit_code, "reason": s.reason,
        "created": s.created_at > 0, "started": s.started_at > 0, "finished": s.finished_at > 0,
        "labels": dict(s.labels), "annotations": dict(s.annotations),
    }  # fmt: skip


def _sandbox_view(result: d.PodSandboxStatusResult) -> object:
    s = result.status
    if s is None:
        return "no status"
    return {
        "state": s.state.name, "metadata": s.metadata, "labels": dict(s.labels),
        "annotations": dict(s.annotations), "has_ip": bool(s.network and s.network.ip),
    }  # fmt: skip


async def sandbox_lifecycle(ws: Workspace, rec: Recording) -> None:
    pod = await ws.run_pod(name="cmp-sandbox", uid="cmp-sandbox-uid", annotations={"cmp": "✓"})
    rec.add("run", "ok")
    cri = ws.cri
    await rec.observe("status after run", cri.pod_sandbox_status(pod.id), _sandbox_view)
    await rec.observe("stop", cri.stop_pod_sandbox(pod.id))
    await rec.observe("status after stop", cri.pod_sandbox_status(pod.id), _sandbox_view)
    await rec.observe("stop again", cri.stop_pod_sandbox(pod.id))
    await rec.observe("remove", cri.remove_pod_sandbox(pod.id))
    await rec.observe("status after remove", cri.pod_sandbox_status(pod.id), _sandbox_view)
    await rec.observe("remove again", cri.remove_pod_sandbox(pod.id))


async def container_lifecycle(ws: Workspace, rec: Recording) -> None:
    pod = await ws.run_pod(name="cmp-container", uid="cmp-container-uid")
    cri = ws.cri
    cid = await rec.observe("create", ws.create(pod, labels={"cmp": "1"}), lambda _: "ok")
    if cid is None:
        return
    await rec.observe("status created", cri.container_status(cid), _container_view)
    await rec.observe("start", cri.start_container(cid))
    await rec.observe("status running", cri.container_status(cid), _container_view)
    await rec.observe("start again", cri.start_container(cid))
    shape = lambda r: (r.stdout, r.stderr, r.exit_code)  # noqa: E731
    await rec.observe("exec echo", cri.exec_sync(cid, ["echo", "hi"], exec_timeout=10), shape)
    await rec.observe("exec exit 3", cri.exec_sync(cid, ["sh", "-c", "exit 3"], exec_timeout=10), shape)
    await rec.observe("stop now", cri.stop_container(cid, grace_seconds=0))
    await rec.observe("status exited", cri.container_status(cid), _container_view)
    await rec.observe("stop again", cri.stop_container(cid, grace_seconds=0))
    await rec.observe("exec in exited", cri.exec_sync(cid, ["true"], exec_timeout=5), shape)
    await rec.observe("remove", cri.remove_container(cid))
    await rec.observe("status removed", cri.container_status(cid), _container_view)
    await rec.observe("remove again", cri.remove_container(cid))


async def exit_and_logs(ws: Workspace, rec: Recording) -> None:
    pod = await ws.run_pod(name="cmp-logs", uid="cmp-logs-uid", log_root=str(rec.log_root))
    script = "echo out; echo err >&2; printf partial; exit 3"
    cid = await ws.start(pod, command=("sh", "-c", script))
    try:
        status = await ws.wait_exited(cid, timeout=rec.exit_wait)
    except AssertionError:
        rec.add("exit", f"still running after {rec.exit_wait:g}s")
        return
    rec.add("exit", {"exit_code": status.exit_code, "reason": status.reason})
    try:
        text = await asyncio.to_thread(Path(status.log_path).read_text)
    except OSError as exc:
        text = f"unreadable: {type(exc).__name__}"
    rec.add("log lines (timestamps removed)", sorted(LOG_PREFIX.sub("", text).splitlines()))


async def missing_objects(ws: Workspace, rec: Recording) -> None:
    cri = ws.cri
    await rec.observe("PodSandboxStatus missing", cri.pod_sandbox_status(MISSING))
    await rec.observe("ContainerStatus missing", cri.container_status(MISSING))
    await rec.observe("StopPodSandbox missing", cri.stop_pod_sandbox(MISSING))
    await rec.observe("RemovePodSandbox missing", cri.remove_pod_sandbox(MISSING))
    await rec.observe("StopContainer missing", cri.stop_container(MISSING))
    await rec.observe("RemoveContainer missing", cri.remove_container(MISSING))
    await rec.observe("ImageStatus missing", cri.image_status("docker.io/tinykube/never-pushed:none"),
                      lambda r: r.image is None)  # fmt: skip
    await rec.observe("RuntimeConfig", cri.runtime_config(), lambda r: r.linux)


async def image_references(ws: Workspace, rec: Recording) -> None:
    cri = ws.cri
    image_id = await rec.observe("pull", ws.ensure_image(images.BUSYBOX), lambda _: "ok")
    if image_id is None:
        return
    for reference in (images.BUSYBOX, "busybox:1.36", image_id):
        label = "id" if reference == image_id else reference
        await rec.observe(f"status by {label}", cri.image_status(reference),
                          lambda r: r.image is not None and r.image.id == image_id)  # fmt: skip


SCENARIOS: dict[str, Callable[[Workspace, Recording], Awaitable[None]]] = {
    "sandbox lifecycle": sandbox_lifecycle,
    "container lifecycle": container_lifecycle,
    "exit codes and logs": exit_and_logs,
    "missing objects": missing_objects,
    "image references": image_references,
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Difference:
    scenario: str
    step: str
    first: str
    second: str


async def record(endpoint: str, *, run_id: str, timeout: float, exit_wait: float) -> dict[str, Recording]:
    """One side's recordings; its pods log under a directory of its own, removed at the end."""
    log_root = Path(await asyncio.to_thread(_fresh_log_root))
    try:
        async with await CRIClient.connect(endpoint, timeout=timeout) as cri:
            try:
                return await _record_all(cri, run_id=run_id, log_root=log_root, exit_wait=exit_wait)
            finally:
                await sweep(cri, run_id)
    finally:
        await asyncio.to_thread(shutil.rmtree, log_root, ignore_errors=True)


def _fresh_log_root() -> str:
    os.makedirs(LOG_ROOT, exist_ok=True)
    return tempfile.mkdtemp(prefix="compare-", dir=LOG_ROOT)


async def _record_all(
    cri: CRIClient, *, run_id: str, log_root: Path, exit_wait: float
) -> dict[str, Recording]:
    recordings: dict[str, Recording] = {}
    for name, scenario in SCENARIOS.items():
        ws = Workspace(cri, run_id)
        recordings[name] = rec = Recording(log_root=log_root, exit_wait=exit_wait)
        try:
            await scenario(ws, rec)
        except CRIError as exc:
            rec.add("scenario aborted", f"error {exc.code.name}")
        finally:
            await ws.cleanup()
    return recordings


def differences(first: dict[str, Recording], second: dict[str, Recording]) -> list[Difference]:
    found = []
    for scenario in SCENARIOS:
        a, b = dict(first[scenario].steps), dict(second[scenario].steps)
        for step in dict.fromkeys([*a, *b]):
            if a.get(step) != b.get(step):
                found.append(
                    Difference(scenario=scenario, step=step, first=a.get(step, "-"), second=b.get(step, "-"))
                )
    return found


async def compare(first: str, second: str, *, timeout: float, exit_wait: float) -> list[Difference]:
    run_id = f"cmp-{uuid.uuid4().hex[:8]}"  # one label value for both, so labels compare equal
    a, b = await asyncio.gather(
        record(first, run_id=run_id, timeout=timeout, exit_wait=exit_wait),
        record(second, run_id=run_id, timeout=timeout, exit_wait=exit_wait),
    )
    return differences(a, b)


def compare_main(first: str, second: str, *, timeout: float, exit_wait: float = 15.0) -> int:
    diffs = asyncio.run(compare(first, second, timeout=timeout, exit_wait=exit_wait))
    print(f"A = {first}\nB = {second}")
    for scenario in SCENARIOS:
        mine = [x for x in diffs if x.scenario == scenario]
        print(f"{scenario}: {'same' if not mine else f'{len(mine)} difference(s)'}")
        for diff in mine:
            print(f"  {diff.step}:\n    A: {diff.first}\n    B: {diff.second}")
    print(f"{len(diffs)} difference(s) in {len(SCENARIOS)} scenarios")
    return 1 if diffs else 0
