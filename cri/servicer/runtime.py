"""RuntimeService: protobuf in, domain calls on the backend, protobuf out."""

from __future__ import annotations

from collections.abc import AsyncIterator

from cri import domain as d
from cri.backend import CheckpointSpec, RuntimeBackend, SandboxResourcesUpdate
from cri.convert import to_proto
from cri.errors import InvalidArgument
from cri.servicer.guard import Guard
from cri.servicer.lists import list_response as _list
from cri.servicer.lists import paged_responses as _pages
from cri.servicer.requests import optional, require_attr, required, required_id
from cri.streaming.types import AttachSpec, ExecSpec, PortForwardSpec
from cri.v1 import api_pb2 as pb
from cri.v1 import api_pb2_grpc as pb_grpc


def _streams_selected(stdin: bool, stdout: bool, stderr: bool) -> None:
    if not (stdin or stdout or stderr):
        raise InvalidArgument("one of stdin, stdout or stderr must be set")


def make_runtime_servicer(backend: RuntimeBackend, guard: Guard) -> pb_grpc.RuntimeServiceServicer:
    """The RuntimeService over ``backend``; every method is wrapped by ``guard``."""

    class RuntimeServicer(pb_grpc.RuntimeServiceServicer):
        @guard.unary()
        async def Version(self, request: pb.VersionRequest) -> pb.VersionResponse:
            return to_proto(await backend.version(), pb.VersionResponse)

        @guard.unary(mutating=True)
        async def RunPodSandbox(self, request: pb.RunPodSandboxRequest) -> pb.RunPodSandboxResponse:
            config = required(request, "config", d.PodSandboxConfig)
            require_attr(config, "config.metadata")
            require_attr(config, "config.metadata.name")
            sandbox_id = await backend.run_pod_sandbox(config, runtime_handler=request.runtime_handler)
            return pb.RunPodSandboxResponse(pod_sandbox_id=sandbox_id)

        @guard.unary(mutating=True)
        async def StopPodSandbox(self, request: pb.StopPodSandboxRequest) -> pb.StopPodSandboxResponse:
            await backend.stop_pod_sandbox(required_id(request, "pod_sandbox_id"))
            return pb.StopPodSandboxResponse()

        @guard.unary(mutating=True)
        async def RemovePodSandbox(self, request: pb.RemovePodSandboxRequest) -> pb.RemovePodSandboxResponse:
            await backend.remove_pod_sandbox(required_id(request, "pod_sandbox_id"))
            return pb.RemovePodSandboxResponse()

        @guard.unary()
        async def PodSandboxStatus(self, request: pb.PodSandboxStatusRequest) -> pb.PodSandboxStatusResponse:
            result = await backend.pod_sandbox_status(
                required_id(request, "pod_sandbox_id"), verbose=request.verbose
            )
            return to_proto(result, pb.PodSandboxStatusResponse)

        @guard.unary()
        async def ListPodSandbox(self, request: pb.ListPodSandboxRequest) -> pb.ListPodSandboxResponse:
            items = await backend.list_pod_sandbox(optional(request, "filter", d.PodSandboxFilter))
            return _list(items, pb.ListPodSandboxResponse, "items", pb.PodSandbox)

        @guard.stream()
        async def StreamPodSandboxes(
            self, request: pb.StreamPodSandboxesRequest
        ) -> AsyncIterator[pb.StreamPodSandboxesResponse]:
            items = await backend.list_pod_sandbox(optional(request, "filter", d.PodSandboxFilter))
            for page in _pages(items, pb.StreamPodSandboxesResponse, "pod_sandboxes", pb.PodSandbox):
                yield page

        @guard.unary(mutating=True)
        async def CreateContainer(self, request: pb.CreateContainerRequest) -> pb.CreateContainerResponse:
            sandbox_id = required_id(request, "pod_sandbox_id")
            config = required(request, "config", d.ContainerConfig)
            require_attr(config, "config.metadata")
            require_attr(config, "config.metadata.name")
            require_attr(config, "config.image")
            require_attr(config, "config.image.image")
            sandbox_config = required(request, "sandbox_config", d.PodSandboxConfig)
            container_id = await backend.create_container(sandbox_id, config, sandbox_config)
            return pb.CreateContainerResponse(container_id=container_id)

        @guard.unary(mutating=True)
        async def StartContainer(self, request: pb.StartContainerRequest) -> pb.StartContainerResponse:
            await backend.start_container(required_id(request, "container_id"))
            return pb.StartContainerResponse()

        @guard.unary(mutating=True)
        async def StopContainer(self, request: pb.StopContainerRequest) -> pb.StopContainerResponse:
            if request.timeout < 0:
                raise InvalidArgument(f"timeout must not be negative, got {request.timeout}")
            await backend.stop_container(required_id(request, "container_id"), timeout=request.timeout)
            return pb.StopContainerResponse()

        @guard.unary(mutating=True)
        async def RemoveContainer(self, request: pb.RemoveContainerRequest) -> pb.RemoveContainerResponse:
            await backend.remove_container(required_id(request, "container_id"))
            return pb.RemoveContainerResponse()

        @guard.unary()
        async def ListContainers(self, request: pb.ListContainersRequest) -> pb.ListContainersResponse:
            items = await backend.list_containers(optional(request, "filter", d.ContainerFilter))
            return _list(items, pb.ListContainersResponse, "containers", pb.Container)

        @guard.stream()
        async def StreamContainers(
            self, request: pb.StreamContainersRequest
        ) -> AsyncIterator[pb.StreamContainersResponse]:
            items = await backend.list_containers(optional(request, "filter", d.ContainerFilter))
            for page in _pages(items, pb.StreamContainersResponse, "containers", pb.Container):
                yield page

        @guard.unary()
        async def ContainerStatus(self, request: pb.ContainerStatusRequest) -> pb.ContainerStatusResponse:
            result = await backend.container_status(
                required_id(request, "container_id"), verbose=request.verbose
            )
            return to_proto(result, pb.ContainerStatusResponse)

        @guard.unary(mutating=True)
        async def UpdateContainerResources(
            self, request: pb.UpdateContainerResourcesRequest
        ) -> pb.UpdateContainerResourcesResponse:
            await backend.update_container_resources(
                required_id(request, "container_id"),
                optional(request, "linux", d.LinuxContainerResources),
                dict(request.annotations),
            )
            return pb.UpdateContainerResourcesResponse()

        @guard.unary(mutating=True)
        async def ReopenContainerLog(
            self, request: pb.ReopenContainerLogRequest
        ) -> pb.ReopenContainerLogResponse:
            await backend.reopen_container_log(required_id(request, "container_id"))
            return pb.ReopenContainerLogResponse()

        @guard.unary()
        async def ExecSync(self, request: pb.ExecSyncRequest) -> pb.ExecSyncResponse:
            container_id = required_id(request, "container_id")
            if not request.cmd:
                raise InvalidArgument("cmd is required")
            if request.timeout < 0:
                raise InvalidArgument(f"timeout must not be negative, got {request.timeout}")
            result = await backend.exec_sync(container_id, tuple(request.cmd), timeout=request.timeout)
            return to_proto(result, pb.ExecSyncResponse)

        @guard.unary()
        async def Exec(self, request: pb.ExecRequest) -> pb.ExecResponse:
            container_id = required_id(request, "container_id")
            if not request.cmd:
                raise InvalidArgument("cmd is required")
            _streams_selected(request.stdin, request.stdout, request.stderr)
            if request.tty and request.stderr:
                raise InvalidArgument("tty and stderr cannot both be true")
            spec = ExecSpec(
                container_id=container_id,
                cmd=tuple(request.cmd),
                tty=request.tty,
                stdin=request.stdin,
                stdout=request.stdout,
                stderr=request.stderr,
            )
            return pb.ExecResponse(url=await backend.exec(spec))

        @guard.unary()
        async def Attach(self, request: pb.AttachRequest) -> pb.AttachResponse:
            container_id = required_id(request, "container_id")
            _streams_selected(request.stdin, request.stdout, request.stderr)
            if request.tty and request.stderr:
                raise InvalidArgument("tty and stderr cannot both be true")
            spec = AttachSpec(
                container_id=container_id,
                tty=request.tty,
                stdin=request.stdin,
                stdout=request.stdout,
                stderr=request.stderr,
            )
            return pb.AttachResponse(url=await backend.attach(spec))

        @guard.unary()
        async def PortForward(self, request: pb.PortForwardRequest) -> pb.PortForwardResponse:
            sandbox_id = required_id(request, "pod_sandbox_id")
            bad = [port for port in request.port if not 0 < port < 65536]
            if bad:
                raise InvalidArgument(f"port must be in 1-65535, got {bad[0]}")
            spec = PortForwardSpec(pod_sandbox_id=sandbox_id, ports=tuple(request.port))
            return pb.PortForwardResponse(url=await backend.port_forward(spec))

        @guard.unary()
        async def ContainerStats(self, request: pb.ContainerStatsRequest) -> pb.ContainerStatsResponse:
            stats = await backend.container_stats(required_id(request, "container_id"))
            return pb.ContainerStatsResponse(stats=to_proto(stats, pb.ContainerStats))

        @guard.unary()
        async def ListContainerStats(
            self, request: pb.ListContainerStatsRequest
        ) -> pb.ListContainerStatsResponse:
            items = await backend.list_container_stats(optional(request, "filter", d.ContainerStatsFilter))
            return _list(items, pb.ListContainerStatsResponse, "stats", pb.ContainerStats)

        @guard.stream()
        async def StreamContainerStats(
            self, request: pb.StreamContainerStatsRequest
        ) -> AsyncIterator[pb.StreamContainerStatsResponse]:
            items = await backend.list_container_stats(optional(request, "filter", d.ContainerStatsFilter))
            for page in _pages(items, pb.StreamContainerStatsResponse, "container_stats", pb.ContainerStats):
                yield page

        @guard.unary()
        async def PodSandboxStats(self, request: pb.PodSandboxStatsRequest) -> pb.PodSandboxStatsResponse:
            stats = await backend.pod_sandbox_stats(required_id(request, "pod_sandbox_id"))
            return pb.PodSandboxStatsResponse(stats=to_proto(stats, pb.PodSandboxStats))

        @guard.unary()
        async def ListPodSandboxStats(
            self, request: pb.ListPodSandboxStatsRequest
        ) -> pb.ListPodSandboxStatsResponse:
            items = await backend.list_pod_sandbox_stats(optional(request, "filter", d.PodSandboxStatsFilter))
            return _list(items, pb.ListPodSandboxStatsResponse, "stats", pb.PodSandboxStats)

        @guard.stream()
        async def StreamPodSandboxStats(
            self, request: pb.StreamPodSandboxStatsRequest
        ) -> AsyncIterator[pb.StreamPodSandboxStatsResponse]:
            items = await backend.list_pod_sandbox_stats(optional(request, "filter", d.PodSandboxStatsFilter))
            for page in _pages(
                items, pb.StreamPodSandboxStatsResponse, "pod_sandbox_stats", pb.PodSandboxStats
            ):
                yield page

        @guard.unary(mutating=True)
        async def UpdateRuntimeConfig(
            self, request: pb.UpdateRuntimeConfigRequest
        ) -> pb.UpdateRuntimeConfigResponse:
            await backend.update_runtime_config(required(request, "runtime_config", d.RuntimeConfig))
            return pb.UpdateRuntimeConfigResponse()

        @guard.unary()
        async def Status(self, request: pb.StatusRequest) -> pb.StatusResponse:
            return to_proto(await backend.status(verbose=request.verbose), pb.StatusResponse)

        @guard.unary(mutating=True)
        async def CheckpointContainer(
            self, request: pb.CheckpointContainerRequest
        ) -> pb.CheckpointContainerResponse:
            spec = CheckpointSpec(
                container_id=required_id(request, "container_id"),
                location=request.location,
                timeout=request.timeout,
            )
            await backend.checkpoint_container(spec)
            return pb.CheckpointContainerResponse()

        @guard.stream()
        async def GetContainerEvents(
            self, request: pb.GetEventsRequest
        ) -> AsyncIterator[pb.ContainerEventResponse]:
            async for event in backend.container_events():
                yield to_proto(event, pb.ContainerEventResponse)

        @guard.unary()
        async def ListMetricDescriptors(
            self, request: pb.ListMetricDescriptorsRequest
        ) -> pb.ListMetricDescriptorsResponse:
            items = await backend.list_metric_descriptors()
            return _list(items, pb.ListMetricDescriptorsResponse, "descriptors", pb.MetricDescriptor)

        @guard.unary()
        async def ListPodSandboxMetrics(
            self, request: pb.ListPodSandboxMetricsRequest
        ) -> pb.ListPodSandboxMetricsResponse:
            items = await backend.list_pod_sandbox_metrics()
            return _list(items, pb.ListPodSandboxMetricsResponse, "pod_metrics", pb.PodSandboxMetrics)

        @guard.stream()
        async def StreamPodSandboxMetrics(
            self, request: pb.StreamPodSandboxMetricsRequest
        ) -> AsyncIterator[pb.StreamPodSandboxMetricsResponse]:
            items = await backend.list_pod_sandbox_metrics()
            for page in _pages(
                items, pb.StreamPodSandboxMetricsResponse, "pod_sandbox_metrics", pb.PodSandboxMetrics
            ):
                yield page

        @guard.unary()
        async def RuntimeConfig(self, request: pb.RuntimeConfigRequest) -> pb.RuntimeConfigResponse:
            return to_proto(await backend.runtime_config(), pb.RuntimeConfigResponse)

        @guard.unary(mutating=True)
        async def UpdatePodSandboxResources(
            self, request: pb.UpdatePodSandboxResourcesRequest
        ) -> pb.UpdatePodSandboxResourcesResponse:
            update = SandboxResourcesUpdate(
                pod_sandbox_id=required_id(request, "pod_sandbox_id"),
                overhead=optional(request, "overhead", d.LinuxContainerResources),
                resources=optional(request, "resources", d.LinuxContainerResources),
            )
            await backend.update_pod_sandbox_resources(update)
            return pb.UpdatePodSandboxResourcesResponse()

    return RuntimeServicer()
