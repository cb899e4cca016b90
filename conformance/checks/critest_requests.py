"""Requests shaped exactly as cri-tools' critest (pkg/framework, pkg/validate) sends them.

critest's pods differ from the kubelet's: no namespace options (every namespace is POD, also
pid), no log directory unless a spec asks for one, no cgroup parent (``common.GetCgroupParent``
answers "" for cgroupfs), attempt 2, and containers whose ``linux`` carries no security context.
Only the suite's own labels are added, so an interrupted run can still be swept.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from conformance import images
from conformance.pod import LOG_ROOT, suite_labels
from conformance.workspace import Pod, Workspace, wait_for
from cri import domain as d

ATTEMPT = 2  # framework.DefaultAttempt
TOP = ("top",)  # framework.DefaultLinuxContainerCommand
PAUSE = ("sh", "-c", "top")  # framework.DefaultLinuxPauseCommand, consts.pauseLinuxCmd
DEFAULT_LOG = "hello World"  # validate.defaultLog
EXEC_TIMEOUT = 30  # validate.defaultExecSyncTimeout
STOP_TIMEOUT = 60  # validate.defaultStopContainerTimeout
_RFC3339_NANO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)")


def _uid() -> str:
    return str(uuid.uuid4())


def pod_config(
    ws: Workspace,
    *,
    prefix: str = "create-PodSandbox-for-container-",
    log_directory: str = "",
    linux: d.LinuxPodSandboxConfig | None = None,
    dns: d.DNSConfig | None = None,
    hostname: str = "",
    ports: tuple[d.PortMapping, ...] = (),
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> d.PodSandboxConfig:
    """framework.CreatePodSandboxForContainer and its variants; ``prefix`` + a UUID is the name
    (68 characters by default, longer than a hostname may be: critest sets no hostname)."""
    return d.PodSandboxConfig(
        metadata=d.PodSandboxMetadata(
            name=prefix + _uid(),
            uid="cri-test-uid" + _uid(),
            namespace="cri-test-namespace" + _uid(),
            attempt=ATTEMPT,
        ),
        hostname=hostname,
        log_directory=log_directory,
        dns_config=dns,
        port_mappings=ports,
        labels={**suite_labels(ws.run_id), **(labels or {})},
        annotations=dict(annotations or {}),
        linux=linux or d.LinuxPodSandboxConfig(),
    )


LOG_POD = "PodSandbox-with-log-directory-"  # createPodSandboxWithLogDirectory's name prefix


def log_directory() -> str:
    """createLogTempDir: a fresh host directory the test creates before the pod uses it."""
    path = Path(LOG_ROOT) / f"podLogTest{uuid.uuid4().hex[:12]}" / "pod"
    path.mkdir(parents=True)
    return str(path)


def namespaced_linux(options: d.NamespaceOption, **fields: object) -> d.LinuxPodSandboxConfig:
    context = d.LinuxSandboxSecurityContext(namespace_options=options, **fields)  # type: ignore[arg-type]
    return d.LinuxPodSandboxConfig(security_context=context)


PRIVILEGED_POD = "create-Privileged-PodSandbox-for-container-"  # createPrivilegedPodSandbox


def privileged_linux() -> d.LinuxPodSandboxConfig:
    """createPrivilegedPodSandbox(privileged=true)."""
    return d.LinuxPodSandboxConfig(security_context=d.LinuxSandboxSecurityContext(privileged=True))


async def run_pod(ws: Workspace, **kwargs: object) -> Pod:
    return await ws.run_pod(pod_config(ws, **kwargs))  # type: ignore[arg-type]


def container_config(
    ws: Workspace,
    *,
    prefix: str = "critest-container-",
    image: str = images.E2E_BUSYBOX,
    command: tuple[str, ...] = TOP,
    linux: d.LinuxContainerConfig | None = None,
    log_path: str = "",
    labels: Mapping[str, str] | None = None,
    mounts: tuple[d.Mount, ...] = (),
    stdin: bool = False,
    stdin_once: bool = False,
    name: str = "",
) -> d.ContainerConfig:
    """framework.CreateDefaultContainer and friends: the image spec names the image twice, as
    CreateContainerWithError sets user_specified_image."""
    return d.ContainerConfig(
        metadata=d.ContainerMetadata(name=name or prefix + _uid(), attempt=ATTEMPT),
        image=d.ImageSpec(image=image, user_specified_image=image),
        command=command,
        mounts=mounts,
        labels={**suite_labels(ws.run_id), **(labels or {})},
        log_path=log_path,
        stdin=stdin,
        stdin_once=stdin_once,
        linux=linux or d.LinuxContainerConfig(),
    )


def with_security(**fields: object) -> d.LinuxContainerConfig:
    """A LinuxContainerConfig whose security context sets only ``fields``."""
    return d.LinuxContainerConfig(security_context=d.LinuxContainerSecurityContext(**fields))  # type: ignore[arg-type]


async def start(ws: Workspace, pod: Pod, **kwargs: object) -> str:
    """Create and start; then, as testStartContainer, wait until the container is RUNNING."""
    container_id = await ws.start(pod, container_config(ws, **kwargs))  # type: ignore[arg-type]
    await wait_running(ws, container_id)
    return container_id


async def wait_running(ws: Workspace, container_id: str) -> None:
    async def running() -> bool | None:
        return (await ws.status(container_id)).state == d.ContainerState.CONTAINER_RUNNING or None

    await wait_for(f"container {container_id[:13]} to run", running, timeout=60)


@dataclass(frozen=True, kw_only=True, slots=True)
class LogRecord:
    timestamp: str
    stream: str
    log: str  # the text plus the newline parseCRILog appends


def parse_cri_log(text: str) -> list[LogRecord]:
    """validate.parseLogLine: every line splits into 4 fields; field 0 parses as RFC3339Nano."""
    records = []
    for line in text.splitlines():
        fields = line.split(" ", 3)
        assert len(line) >= 4 and len(fields) == 4, f"not a CRI log line: {line!r}"
        assert _RFC3339_NANO.fullmatch(fields[0]), f"timestamp is not RFC3339Nano: {line!r}"
        datetime.fromisoformat(_to_microseconds(fields[0]))
        records.append(LogRecord(timestamp=fields[0], stream=fields[1], log=fields[3] + "\n"))
    return records


def _to_microseconds(stamp: str) -> str:
    """Python parses at most 6 fractional digits; Go's RFC3339Nano has up to 9."""
    return re.sub(r"\.(\d{1,6})\d*", r".\1", stamp).replace("Z", "+00:00")


def read_log(pod: Pod, log_path: str) -> list[LogRecord]:
    path = Path(pod.config.log_directory) / log_path
    return parse_cri_log(path.read_text(errors="replace")) if path.exists() else []


async def log_records(pod: Pod, log_path: str, *, until: LogRecord | None = None) -> list[LogRecord]:
    """The container's log once it is non-empty (or holds a record equal to ``until``)."""

    async def ready() -> list[LogRecord] | None:
        records = await asyncio.to_thread(read_log, pod, log_path)
        wanted = (until in records) if until else bool(records)
        return records if wanted else None

    return await wait_for(f"log records in {log_path}", ready, timeout=60)
