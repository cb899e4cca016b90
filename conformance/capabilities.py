"""What the runtime under test can do, found by asking it, so checks it cannot serve are skipped by name."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

from conformance.workspace import WaitTimeout, Workspace
from cri.client import CRIClient
from cri.errors import CRIError, Unimplemented

PROBE_LINE = "tinykube-conformance-probe"
NAMES = ("processes", "logs", "network", "streaming", "registry", "recursive_read_only_mounts")
MISSING_IMAGE = "docker.io/tinykube/never-pushed:none"


@dataclass(frozen=True, kw_only=True, slots=True)
class Capabilities:
    runtime_name: str
    runtime_version: str
    processes: bool  # ExecSync runs real commands in the container
    logs: bool  # the container's output reaches its CRI log file on this host
    network: bool  # sandboxes get a pod IP
    streaming: bool  # Exec/Attach/PortForward answer a URL
    registry: bool  # images come from a registry: a pull of an image nobody pushed fails
    recursive_read_only_mounts: bool  # the default handler announces them in Status

    def has(self, name: str) -> bool:
        return bool(getattr(self, name))

    def is_runtime(self, name: str, version_prefix: str = "") -> bool:
        version = self.runtime_version.removeprefix("v")
        return self.runtime_name == name and version.startswith(version_prefix)


async def probe(cri: CRIClient, *, run_id: str) -> Capabilities:
    version = await cri.version()
    workspace = Workspace(cri, run_id)
    try:
        sandbox = await workspace.run_pod()
        container_id = await workspace.start(
            sandbox, command=("sh", "-c", f"echo {PROBE_LINE}; exec sleep 600")
        )
        processes = await _runs_processes(cri, container_id)
        return Capabilities(
            runtime_name=version.runtime_name,
            runtime_version=version.runtime_version,
            processes=processes,
            logs=processes and await _writes_logs(workspace, container_id),
            network=bool(re.fullmatch(r"[0-9a-f.:]+", await _pod_ip(workspace, sandbox.id))),
            streaming=await _streams(cri, container_id),
            registry=await _pulls_from_registry(cri),
            recursive_read_only_mounts=await _announces_rro(cri),
        )
    finally:
        await workspace.cleanup()


async def _runs_processes(cri: CRIClient, container_id: str) -> bool:
    with contextlib.suppress(CRIError):
        result = await cri.exec_sync(container_id, ["echo", PROBE_LINE], exec_timeout=10)
        return result.stdout == f"{PROBE_LINE}\n".encode()
    return False


async def _writes_logs(workspace: Workspace, container_id: str) -> bool:
    try:
        await workspace.log_text(container_id, until=PROBE_LINE, timeout=5)
    except WaitTimeout:
        return False
    return True


async def _pod_ip(workspace: Workspace, sandbox_id: str) -> str:
    status = await workspace.sandbox_status(sandbox_id)
    return status.network.ip if status.network else ""


async def _streams(cri: CRIClient, container_id: str) -> bool:
    try:
        await cri.exec(container_id, ["true"])
    except Unimplemented:
        return False
    return True


async def _announces_rro(cri: CRIClient) -> bool:
    status = await cri.status()
    return any(
        h.name == "" and h.features is not None and h.features.recursive_read_only_mounts
        for h in status.runtime_handlers
    )


async def _pulls_from_registry(cri: CRIClient) -> bool:
    try:
        await cri.pull_image(MISSING_IMAGE, timeout=60)
    except CRIError:
        return True
    with contextlib.suppress(CRIError):
        await cri.remove_image(MISSING_IMAGE)
    return False


def describe(caps: Capabilities) -> str:
    missing = [name for name in NAMES if not caps.has(name)]
    runtime = f"{caps.runtime_name} {caps.runtime_version}"
    return f"{runtime}; cannot serve: {', '.join(missing)}" if missing else f"{runtime}; all capabilities"
