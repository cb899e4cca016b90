"""The async CRI client every consumer uses: kubelet, crictl, conformance.

Methods are the RPCs in snake_case; they take and return ``cri.domain`` objects and raise the
``cri.errors`` tree (``Unimplemented`` means "this runtime does not support it"). ``raw_runtime`` and
``raw_images`` expose the protobuf stubs for callers that must send malformed requests on purpose.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from cri import domain as d
from cri.convert import from_proto, to_proto
from cri.errors import CRIError, Unavailable, error_for_code
from cri.v1 import api_pb2 as pb
from cri.v1 import api_pb2_grpc as pb_grpc

T = TypeVar("T")
R = TypeVar("R", bound=Message)

DEFAULT_TIMEOUT = 30.0
MAX_MESSAGE = 16 * 1024 * 1024 * 3
NO_DEADLINE = 7 * 24 * 3600.0


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A CRI endpoint as users write it, and the gRPC target it means."""

    text: str
    target: str


def parse_endpoint(text: str) -> Endpoint:
    """``unix:///path``, ``/path`` or ``tcp://host:port`` (``host:port`` too)."""
    if text.startswith("unix://"):
        path = text[len("unix://") :]
        if not path.startswith("/"):
            raise ValueError(f"endpoint {text!r}: unix socket path must be absolute")
        return Endpoint(text, f"unix://{path}")
    if text.startswith("/"):
        return Endpoint(text, f"unix://{text}")
    if text.startswith("tcp://"):
        return Endpoint(text, text[len("tcp://") :])
    if "://" in text:
        raise ValueError(f"endpoint {text!r}: protocol not supported (use unix:// or tcp://)")
    if ":" in text:
        return Endpoint(text, text)
    raise ValueError(f"endpoint {text!r}: expected unix:///path, /path or tcp://host:port")


async def _open_channel(endpoint: Endpoint, connect_timeout: float) -> grpc.aio.Channel:
    channel = grpc.aio.insecure_channel(
        endpoint.target,
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE),
            ("grpc.max_send_message_length", MAX_MESSAGE),
        ],
    )
    try:
        await asyncio.wait_for(channel.channel_ready(), connect_timeout)
    except TimeoutError:
        await channel.close(None)
        raise Unavailable(
            f"cannot connect to CRI endpoint {endpoint.text}: no answer within {connect_timeout:g}s"
        ) from None
    return channel


class CRIClient:
    """RuntimeService and ImageService of one runtime (image calls may go to another endpoint)."""

    def __init__(self, runtime: grpc.aio.Channel, images: grpc.aio.Channel, *, timeout: float) -> None:
        self._channels = {id(runtime): runtime, id(images): images}
        self.raw_runtime = pb_grpc.RuntimeServiceStub(runtime)
        self.raw_images = pb_grpc.ImageServiceStub(images)
        self.timeout = timeout

    @classmethod
    async def connect(
        cls,
        endpoint: str,
        *,
        image_endpoint: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = 10.0,
    ) -> CRIClient:
        runtime = await _open_channel(parse_endpoint(endpoint), connect_timeout)
        images = runtime
        if image_endpoint and image_endpoint != endpoint:
            images = await _open_channel(parse_endpoint(image_endpoint), connect_timeout)
        return cls(runtime, images, timeout=timeout)

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close(None)

    async def __aenter__(self) -> CRIClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _call(self, method: Callable[..., Awaitable[R]], request: Message, timeout: float | None) -> R:
        try:
            return await method(request, timeout=self.timeout if timeout is None else timeout)
        except grpc.aio.AioRpcError as exc:
            raise _error(exc) from None

    async def _stream(self, method: Callable[..., Any], request: Message) -> AsyncIterator[Any]:
        try:
            async for item in method(request):
                yield item
        except grpc.aio.AioRpcError as exc:
            raise _error(exc) from None

    # RuntimeService: runtime
    async def version(self, *, timeout: float | None = None) -> d.RuntimeVersion:
        response = await self._call(self.raw_runtime.Version, pb.VersionRequest(version="v1"), timeout)
        return from_proto(response, d.RuntimeVersion)

    async def status(self, *, verbose: bool = False, timeout: float | None = None) -> d.StatusResult:
        response = await self._call(self.raw_runtime.Status, pb.StatusRequest(verbose=verbose), timeout)
        return from_proto(response, d.StatusResult)

    async def runtime_config(self, *, timeout: float | None = None) -> d.RuntimeConfigInfo:
        response = await self._call(self.raw_runtime.RuntimeConfig, pb.RuntimeConfigRequest(), timeout)
        return from_proto(response, d.RuntimeConfigInfo)

    async def update_runtime_config(self, config: d.RuntimeConfig, *, timeout: float | None = None) -> None:
        request = pb.UpdateRuntimeConfigRequest(runtime_config=to_proto(config, pb.RuntimeConfig))
        await self._call(self.raw_runtime.UpdateRuntimeConfig, request, timeout)

    async def container_events(self) -> AsyncIterator[d.ContainerEvent]:
        async for event in self._stream(self.raw_runtime.GetContainerEvents, pb.GetEventsRequest()):
            yield from_proto(event, d.ContainerEvent)

    # RuntimeService: sandboxes
    async def run_pod_sandbox(
        self, config: d.PodSandboxConfig, *, runtime_handler: str = "", timeout: float | None = None
    ) -> str:
        request = pb.RunPodSandboxRequest(
            config=to_proto(config, pb.PodSandboxConfig), runtime_handler=runtime_handler
        )
        response = await self._call(self.raw_runtime.RunPodSandbox, request, timeout)
        return str(response.pod_sandbox_id)

    async def stop_pod_sandbox(self, pod_sandbox_id: str, *, timeout: float | None = None) -> None:
        request = pb.StopPodSandboxRequest(pod_sandbox_id=pod_sandbox_id)
        await self._call(self.raw_runtime.StopPodSandbox, request, timeout)

    async def remove_pod_sandbox(self, pod_sandbox_id: str, *, timeout: float | None = None) -> None:
        request = pb.RemovePodSandboxRequest(pod_sandbox_id=pod_sandbox_id)
        await self._call(self.raw_runtime.RemovePodSandbox, request, timeout)

    async def pod_sandbox_status(
        self, pod_sandbox_id: str, *, verbose: bool = False, timeout: float | None = None
    ) -> d.PodSandboxStatusResult:
        request = pb.PodSandboxStatusRequest(pod_sandbox_id=pod_sandbox_id, verbose=verbose)
        response = await self._call(self.raw_runtime.PodSandboxStatus, request, timeout)
        return from_proto(response, d.PodSandboxStatusResult)

    async def list_pod_sandbox(
        self, filter_: d.PodSandboxFilter | None = None, *, timeout: float | None = None
    ) -> list[d.PodSandbox]:
        request = pb.ListPodSandboxRequest(filter=_optional(filter_, pb.PodSandboxFilter))
        response = await self._call(self.raw_runtime.ListPodSandbox, request, timeout)
        return [from_proto(item, d.PodSandbox) for item in response.items]

    async def port_forward(
        self, pod_sandbox_id: str, ports: list[int], *, timeout: float | None = None
    ) -> str:
        request = pb.PortForwardRequest(pod_sandbox_id=pod_sandbox_id, port=ports)
        response = await self._call(self.raw_runtime.PortForward, request, timeout)
        return str(response.url)

    # RuntimeService: containers
    async def create_container(
        self,
        pod_sandbox_id: str,
        config: d.ContainerConfig,
        sandbox_config: d.PodSandboxConfig,
        *,
        timeout: float | None = None,
    ) -> str:
        request = pb.CreateContainerRequest(
            pod_sandbox_id=pod_sandbox_id,
            config=to_proto(config, pb.ContainerConfig),
            sandbox_config=to_proto(sandbox_config, pb.PodSandboxConfig),
        )
        response = await self._call(self.raw_runtime.CreateContainer, request, timeout)
        return str(response.container_id)

    async def start_container(self, container_id: str, *, timeout: float | None = None) -> None:
        request = pb.StartContainerRequest(container_id=container_id)
        await self._call(self.raw_runtime.StartContainer, request, timeout)

    async def stop_container(
        self, container_id: str, *, grace_seconds: int = 0, timeout: float | None = None
    ) -> None:
        request = pb.StopContainerRequest(container_id=container_id, timeout=grace_seconds)
        call_timeout = (self.timeout if timeout is None else timeout) + grace_seconds
        await self._call(self.raw_runtime.StopContainer, request, call_timeout)

    async def remove_container(self, container_id: str, *, timeout: float | None = None) -> None:
        request = pb.RemoveContainerRequest(container_id=container_id)
        await self._call(self.raw_runtime.RemoveContainer, request, timeout)

    async def list_containers(
        self, filter_: d.ContainerFilter | None = None, *, timeout: float | None = None
    ) -> list[d.Container]:
        request = pb.ListContainersRequest(filter=_optional(filter_, pb.ContainerFilter))
        response = await self._call(self.raw_runtime.ListContainers, request, timeout)
        return [from_proto(item, d.Container) for item in response.containers]

    async def container_status(
        self, container_id: str, *, verbose: bool = False, timeout: float | None = None
    ) -> d.ContainerStatusResult:
        request = pb.ContainerStatusRequest(container_id=container_id, verbose=verbose)
        response = await self._call(self.raw_runtime.ContainerStatus, request, timeout)
        return from_proto(response, d.ContainerStatusResult)

    async def update_container_resources(
        self,
        container_id: str,
        linux: d.LinuxContainerResources | None,
        *,
        annotations: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> None:
        request = pb.UpdateContainerResourcesRequest(
            container_id=container_id,
            linux=_optional(linux, pb.LinuxContainerResources),
            annotations=annotations or {},
        )
        await self._call(self.raw_runtime.UpdateContainerResources, request, timeout)

    async def reopen_container_log(self, container_id: str, *, timeout: float | None = None) -> None:
        request = pb.ReopenContainerLogRequest(container_id=container_id)
        await self._call(self.raw_runtime.ReopenContainerLog, request, timeout)

    async def exec_sync(
        self, container_id: str, cmd: list[str], *, exec_timeout: int = 0, timeout: float | None = None
    ) -> d.ExecSyncResult:
        request = pb.ExecSyncRequest(container_id=container_id, cmd=cmd, timeout=exec_timeout)
        if timeout is None:
            timeout = NO_DEADLINE if exec_timeout == 0 else self.timeout + exec_timeout
        response = await self._call(self.raw_runtime.ExecSync, request, timeout)
        return from_proto(response, d.ExecSyncResult)

    async def exec(
        self,
        container_id: str,
        cmd: list[str],
        *,
        tty: bool = False,
        stdin: bool = False,
        stdout: bool = True,
        stderr: bool = True,
        timeout: float | None = None,
    ) -> str:
        request = pb.ExecRequest(
            container_id=container_id, cmd=cmd, tty=tty, stdin=stdin, stdout=stdout, stderr=stderr and not tty
        )
        response = await self._call(self.raw_runtime.Exec, request, timeout)
        return str(response.url)

    async def attach(
        self,
        container_id: str,
        *,
        tty: bool = False,
        stdin: bool = False,
        stdout: bool = True,
        stderr: bool = True,
        timeout: float | None = None,
    ) -> str:
        request = pb.AttachRequest(
            container_id=container_id, tty=tty, stdin=stdin, stdout=stdout, stderr=stderr and not tty
        )
        response = await self._call(self.raw_runtime.Attach, request, timeout)
        return str(response.url)

    async def checkpoint_container(
        self, container_id: str, location: str, *, checkpoint_timeout: int = 0, timeout: float | None = None
    ) -> None:
        request = pb.CheckpointContainerRequest(
            container_id=container_id, location=location, timeout=checkpoint_timeout
        )
        await self._call(self.raw_runtime.CheckpointContainer, request, timeout)

    # RuntimeService: stats and metrics
    async def container_stats(self, container_id: str, *, timeout: float | None = None) -> d.ContainerStats:
        request = pb.ContainerStatsRequest(container_id=container_id)
        response = await self._call(self.raw_runtime.ContainerStats, request, timeout)
        return from_proto(response.stats, d.ContainerStats)

    async def list_container_stats(
        self, filter_: d.ContainerStatsFilter | None = None, *, timeout: float | None = None
    ) -> list[d.ContainerStats]:
        request = pb.ListContainerStatsRequest(filter=_optional(filter_, pb.ContainerStatsFilter))
        response = await self._call(self.raw_runtime.ListContainerStats, request, timeout)
        return [from_proto(item, d.ContainerStats) for item in response.stats]

    async def pod_sandbox_stats(
        self, pod_sandbox_id: str, *, timeout: float | None = None
    ) -> d.PodSandboxStats:
        request = pb.PodSandboxStatsRequest(pod_sandbox_id=pod_sandbox_id)
        response = await self._call(self.raw_runtime.PodSandboxStats, request, timeout)
        return from_proto(response.stats, d.PodSandboxStats)

    async def list_pod_sandbox_stats(
        self, filter_: d.PodSandboxStatsFilter | None = None, *, timeout: float | None = None
    ) -> list[d.PodSandboxStats]:
        request = pb.ListPodSandboxStatsRequest(filter=_optional(filter_, pb.PodSandboxStatsFilter))
        response = await self._call(self.raw_runtime.ListPodSandboxStats, request, timeout)
        return [from_proto(item, d.PodSandboxStats) for item in response.stats]

    async def list_metric_descriptors(self, *, timeout: float | None = None) -> list[d.MetricDescriptor]:
        response = await self._call(
            self.raw_runtime.ListMetricDescriptors, pb.ListMetricDescriptorsRequest(), timeout
        )
        return [from_proto(item, d.MetricDescriptor) for item in response.descriptors]

    async def list_pod_sandbox_metrics(self, *, timeout: float | None = None) -> list[d.PodSandboxMetrics]:
        response = await self._call(
            self.raw_runtime.ListPodSandboxMetrics, pb.ListPodSandboxMetricsRequest(), timeout
        )
        return [from_proto(item, d.PodSandboxMetrics) for item in response.pod_metrics]

    # ImageService
    async def list_images(
        self, filter_: d.ImageFilter | None = None, *, timeout: float | None = None
    ) -> list[d.Image]:
        request = pb.ListImagesRequest(filter=_optional(filter_, pb.ImageFilter))
        response = await self._call(self.raw_images.ListImages, request, timeout)
        return [from_proto(item, d.Image) for item in response.images]

    async def image_status(
        self, image: str | d.ImageSpec, *, verbose: bool = False, timeout: float | None = None
    ) -> d.ImageStatusResult:
        request = pb.ImageStatusRequest(image=to_proto(_spec(image), pb.ImageSpec), verbose=verbose)
        response = await self._call(self.raw_images.ImageStatus, request, timeout)
        return from_proto(response, d.ImageStatusResult)

    async def pull_image(
        self,
        image: str | d.ImageSpec,
        *,
        auth: d.AuthConfig | None = None,
        sandbox_config: d.PodSandboxConfig | None = None,
        timeout: float | None = None,
    ) -> str:
        request = pb.PullImageRequest(
            image=to_proto(_spec(image), pb.ImageSpec),
            auth=_optional(auth, pb.AuthConfig),
            sandbox_config=_optional(sandbox_config, pb.PodSandboxConfig),
        )
        response = await self._call(self.raw_images.PullImage, request, timeout)
        return str(response.image_ref)

    async def remove_image(self, image: str | d.ImageSpec, *, timeout: float | None = None) -> None:
        request = pb.RemoveImageRequest(image=to_proto(_spec(image), pb.ImageSpec))
        await self._call(self.raw_images.RemoveImage, request, timeout)

    async def image_fs_info(self, *, timeout: float | None = None) -> d.ImageFsInfo:
        response = await self._call(self.raw_images.ImageFsInfo, pb.ImageFsInfoRequest(), timeout)
        return from_proto(response, d.ImageFsInfo)


def _spec(image: str | d.ImageSpec) -> d.ImageSpec:
    return d.ImageSpec(image=image) if isinstance(image, str) else image


def _optional(obj: Any, message_cls: type[R]) -> R | None:
    return None if obj is None else to_proto(obj, message_cls)


def _error(exc: grpc.aio.AioRpcError) -> CRIError:
    return error_for_code(exc.code(), exc.details() or exc.code().name)
