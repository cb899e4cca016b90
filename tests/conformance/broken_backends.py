"""Fakes broken on purpose, one semantic each: the suite must catch every one of them."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from pathlib import Path

from conformance.capabilities import PROBE_LINE
from cri import domain as d
from cri.errors import Internal, NotFound
from cri.streaming.types import AttachSpec, ExecSpec, PortForwardSpec
from shims.fake import FakeImages, FakeRuntime


def _pair(
    runtime_cls: type[FakeRuntime], images_cls: type[FakeImages] = FakeImages
) -> tuple[FakeRuntime, FakeImages]:
    images = images_cls()
    return runtime_cls(images, images.faults), images


class WrongApiVersion(FakeRuntime):
    async def version(self) -> d.RuntimeVersion:
        return dataclasses.replace(await super().version(), runtime_api_version="v1alpha2")

    async def status(self, *, verbose: bool) -> d.StatusResult:
        result = await super().status(verbose=verbose)
        assert result.status is not None
        conditions = tuple(
            dataclasses.replace(c, status=False) if c.type == "NetworkReady" else c
            for c in result.status.conditions
        )
        return dataclasses.replace(result, status=d.RuntimeStatus(conditions=conditions))


class StopKeepsSandboxReady(FakeRuntime):
    async def stop_pod_sandbox(self, pod_sandbox_id: str) -> None:
        self.faults.enter("stop_pod_sandbox", pod_sandbox_id)


class DropsSandboxAnnotations(FakeRuntime):
    async def pod_sandbox_status(self, pod_sandbox_id: str, *, verbose: bool) -> d.PodSandboxStatusResult:
        result = await super().pod_sandbox_status(pod_sandbox_id, verbose=verbose)
        assert result.status is not None
        return dataclasses.replace(result, status=dataclasses.replace(result.status, annotations={}))


class ListIgnoresContainerFilter(FakeRuntime):
    async def list_containers(self, filter_: d.ContainerFilter | None) -> list[d.Container]:
        return await super().list_containers(None)


class StatusOfMissingIsInternal(FakeRuntime):
    async def pod_sandbox_status(self, pod_sandbox_id: str, *, verbose: bool) -> d.PodSandboxStatusResult:
        try:
            return await super().pod_sandbox_status(pod_sandbox_id, verbose=verbose)
        except NotFound:
            raise Internal("lookup failed") from None


class PullAnswersReference(FakeImages):
    async def pull_image(
        self, image: d.ImageSpec, auth: d.AuthConfig | None, sandbox_config: d.PodSandboxConfig | None
    ) -> str:
        await super().pull_image(image, auth, sandbox_config)
        return image.image


class ListStatsIgnoresFilter(FakeRuntime):
    async def list_container_stats(self, filter_: d.ContainerStatsFilter | None) -> list[d.ContainerStats]:
        return await super().list_container_stats(None)


class BareEvents(FakeRuntime):
    """Publishes events without timestamps and without the sandbox and container statuses."""

    def publish(self, object_id: str, kind: d.ContainerEventType) -> None:
        self.events.publish(d.ContainerEvent(container_id=object_id, container_event_type=kind))


class UpdateIgnored(FakeRuntime):
    async def update_container_resources(
        self, container_id: str, linux: d.LinuxContainerResources | None, annotations: dict[str, str]
    ) -> None:
        self.table.container(container_id)


def lying_exec(container_id: str, cmd: tuple[str, ...]) -> d.ExecSyncResult:
    """Passes the capability probe (echo works) and answers "0", exit 0, to everything else."""
    if cmd[:1] == ("echo",):
        return d.ExecSyncResult(stdout=(" ".join(cmd[1:]) + "\n").encode(), exit_code=0)
    return d.ExecSyncResult(stdout=b"0\n", exit_code=0)


class LyingProcesses(FakeRuntime):
    def __init__(self, images: FakeImages, faults: object) -> None:
        super().__init__(images, images.faults)
        self.exec_handler = lying_exec


class StaticStreamingUrls(LyingProcesses):
    """Answers Exec/Attach/PortForward with one fixed, malformed URL (no token, nothing listening)."""

    URL = "http://127.0.0.1:1/stream"

    async def exec(self, spec: ExecSpec) -> str:
        self._running(spec.container_id)
        return self.URL

    async def attach(self, spec: AttachSpec) -> str:
        self._running(spec.container_id)
        return self.URL

    async def port_forward(self, spec: PortForwardSpec) -> str:
        self.table.sandbox(spec.pod_sandbox_id)
        return self.URL


class RawLogs(LyingProcesses):
    """Writes log files, but the container output as raw text instead of CRI log lines."""

    async def start_container(self, container_id: str) -> None:
        await super().start_container(container_id)
        record = self.table.container(container_id)
        command = " ".join(record.config.command)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime())
        text = f"{stamp} stdout F {PROBE_LINE}\n" if PROBE_LINE in command else f"raw output\n{command}\n"
        await asyncio.to_thread(_write, Path(record.log_path), text)

    async def remove_container(self, container_id: str) -> None:
        record = self.table.maybe_container(container_id)
        await super().remove_container(container_id)
        if record is not None and record.log_path:
            await asyncio.to_thread(_remove, Path(record.log_path))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    _remove_empty_parents(path.parent)


def _remove_empty_parents(path: Path) -> None:
    while path != path.parent:
        try:
            os.rmdir(path)
        except OSError:
            return
        path = path.parent
