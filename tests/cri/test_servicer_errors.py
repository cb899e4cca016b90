"""Bad input gets the precise gRPC code naming the problem; nothing ever answers UNKNOWN."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from cri import domain as d
from cri import errors
from cri.v1 import api_pb2 as pb
from tests.cri.conftest import Served


async def _code(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return caught.value.code(), caught.value.details() or ""


@pytest.mark.parametrize(
    ("method", "request_", "field"),
    [
        ("RunPodSandbox", pb.RunPodSandboxRequest(), "config"),
        ("RunPodSandbox", pb.RunPodSandboxRequest(config=pb.PodSandboxConfig()), "config.metadata"),
        ("CreateContainer", pb.CreateContainerRequest(), "pod_sandbox_id"),
        ("CreateContainer", pb.CreateContainerRequest(pod_sandbox_id="abc"), "config"),
        (
            "CreateContainer",
            pb.CreateContainerRequest(
                pod_sandbox_id="abc", config=pb.ContainerConfig(image=pb.ImageSpec(image="x"))
            ),
            "config.metadata",
        ),
        ("StartContainer", pb.StartContainerRequest(), "container_id"),
        ("StopContainer", pb.StopContainerRequest(), "container_id"),
        ("RemoveContainer", pb.RemoveContainerRequest(), "container_id"),
        ("ContainerStatus", pb.ContainerStatusRequest(), "container_id"),
        ("StopPodSandbox", pb.StopPodSandboxRequest(), "pod_sandbox_id"),
        ("PodSandboxStatus", pb.PodSandboxStatusRequest(), "pod_sandbox_id"),
        ("ExecSync", pb.ExecSyncRequest(container_id="abc"), "cmd"),
        ("Exec", pb.ExecRequest(container_id="abc", cmd=["sh"]), "stdin, stdout or stderr"),
        ("Attach", pb.AttachRequest(container_id="abc"), "stdin, stdout or stderr"),
        ("PortForward", pb.PortForwardRequest(), "pod_sandbox_id"),
        ("UpdateRuntimeConfig", pb.UpdateRuntimeConfigRequest(), "runtime_config"),
    ],
)
async def test_missing_required_field_is_invalid_argument(
    served: Served, method: str, request_: object, field: str
) -> None:
    code, details = await _code(getattr(served.client.raw_runtime, method)(request_))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in details


@pytest.mark.parametrize("method", ["ImageStatus", "PullImage", "RemoveImage"])
async def test_image_calls_without_image_are_invalid_argument(served: Served, method: str) -> None:
    request_cls = getattr(pb, f"{method}Request")
    code, details = await _code(getattr(served.client.raw_images, method)(request_cls()))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "image" in details


async def test_malformed_request_changes_nothing(served: Served) -> None:
    await _code(
        served.client.raw_runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pb.PodSandboxConfig()))
    )
    assert await served.client.list_pod_sandbox() == []
    assert "run_pod_sandbox" not in served.runtime.faults.count()


async def test_status_of_unknown_ids_is_not_found(served: Served) -> None:
    with pytest.raises(errors.NotFound):
        await served.client.container_status("0123456789ab")
    with pytest.raises(errors.NotFound):
        await served.client.pod_sandbox_status("0123456789ab")


async def test_stop_and_remove_of_unknown_ids_succeed(served: Served) -> None:
    await served.client.stop_container("0123456789ab")
    await served.client.remove_container("0123456789ab")
    await served.client.stop_pod_sandbox("0123456789ab")
    await served.client.remove_pod_sandbox("0123456789ab")
    await served.client.remove_image("docker.io/library/never-pulled:1")


async def test_backend_errors_keep_their_code_and_message(served: Served) -> None:
    served.runtime.faults.fail_next("version", errors.Unavailable("engine is restarting"))
    with pytest.raises(errors.Unavailable, match="engine is restarting"):
        await served.client.version()


async def _running_container(served: Served) -> str:
    await served.client.pull_image("busybox")
    sandbox_config = d.PodSandboxConfig(metadata=d.PodSandboxMetadata(name="p", namespace="n", uid="u"))
    sandbox_id = await served.client.run_pod_sandbox(sandbox_config)
    config = d.ContainerConfig(metadata=d.ContainerMetadata(name="c"), image=d.ImageSpec(image="busybox"))
    container_id = await served.client.create_container(sandbox_id, config, sandbox_config)
    await served.client.start_container(container_id)
    return container_id


async def test_unsupported_rpc_is_unimplemented(served: Served) -> None:
    container_id = await _running_container(served)
    with pytest.raises(errors.Unimplemented):
        await served.client.checkpoint_container(container_id, "/tmp/checkpoint.tar")


async def test_unexpected_exception_is_internal_with_a_useful_message(served: Served) -> None:
    def explode(container_id: str, cmd: tuple[str, ...]) -> d.ExecSyncResult:
        raise RuntimeError("conmon vanished")

    served.runtime.exec_handler = explode
    container_id = await _running_container(served)
    with pytest.raises(errors.Internal, match="RuntimeError: conmon vanished"):
        await served.client.exec_sync(container_id, ["true"])


async def test_deadline_cancels_the_backend_call_and_answers_deadline_exceeded(served: Served) -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def hang(*args: object, **kwargs: object) -> str:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return ""

    served.images.pull_image = hang  # type: ignore[method-assign]
    with pytest.raises(errors.DeadlineExceeded):
        await served.client.pull_image("busybox", timeout=0.5)
    await asyncio.wait_for(cancelled.wait(), 10)
    assert started.is_set()
