"""Idempotent Stop/Remove, NOT_FOUND on Status of missing ids, INVALID_ARGUMENT on malformed requests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message

from conformance.workspace import Workspace
from cri.client import CRIClient
from cri.errors import CRIError, InvalidArgument, NotFound
from cri.v1 import api_pb2 as pb

pytestmark = pytest.mark.conformance
MISSING = "0" * 63 + "f"  # a well-formed id nobody has
CONTAINERD_STOP = "answers NOT_FOUND for an unknown id instead of succeeding"

IDEMPOTENT: dict[str, Callable[[CRIClient], Awaitable[None]]] = {
    "StopPodSandbox": lambda c: c.stop_pod_sandbox(MISSING),
    "RemovePodSandbox": lambda c: c.remove_pod_sandbox(MISSING),
    "StopContainer": lambda c: c.stop_container(MISSING),
    "RemoveContainer": lambda c: c.remove_container(MISSING),
    "RemoveImage": lambda c: c.remove_image("docker.io/tinykube/never-pushed:none"),
}
DEVIATING_STOPS = {"StopPodSandbox": "sandbox", "StopContainer": "container"}  # -> what containerd seeks


@pytest.mark.parametrize(
    "rpc",
    [
        pytest.param(
            name,
            marks=pytest.mark.deviation(
                "containerd",
                "1.6",
                reason=f"{name} {CONTAINERD_STOP}",
                raises=NotFound,
                match=rf'an error occurred when try to find {DEVIATING_STOPS[name]} "{MISSING}": not found',
            ),
        )
        if name in DEVIATING_STOPS
        else name
        for name in IDEMPOTENT
    ],
)
async def test_missing_object_is_success(cri: CRIClient, rpc: str) -> None:
    """Stop/Remove of a missing object succeeds: the kubelet retries them until they do."""
    await IDEMPOTENT[rpc](cri)


NOT_FOUND: dict[str, Callable[[CRIClient], Awaitable[Any]]] = {
    "PodSandboxStatus": lambda c: c.pod_sandbox_status(MISSING),
    "ContainerStatus": lambda c: c.container_status(MISSING),
    "StartContainer": lambda c: c.start_container(MISSING),
    "ContainerStats": lambda c: c.container_stats(MISSING),
    "PodSandboxStats": lambda c: c.pod_sandbox_stats(MISSING),
    "ExecSync": lambda c: c.exec_sync(MISSING, ["true"], exec_timeout=5),
    "Exec": lambda c: c.exec(MISSING, ["true"]),
    "Attach": lambda c: c.attach(MISSING),
    "PortForward": lambda c: c.port_forward(MISSING, [80]),
    "UpdateContainerResources": lambda c: c.update_container_resources(MISSING, None),
    "ReopenContainerLog": lambda c: c.reopen_container_log(MISSING),
    "CreateContainer in missing sandbox": lambda c: c.create_container(
        MISSING, _minimal_container(), _minimal_sandbox()
    ),
}


def _minimal_sandbox() -> Any:
    from cri import domain as d

    return d.PodSandboxConfig(metadata=d.PodSandboxMetadata(name="x", namespace="y", uid="z"))


def _minimal_container() -> Any:
    from cri import domain as d

    return d.ContainerConfig(metadata=d.ContainerMetadata(name="x"), image=d.ImageSpec(image="busybox"))


@pytest.mark.parametrize("rpc", list(NOT_FOUND))
async def test_missing_id_is_not_found(cri: CRIClient, rpc: str) -> None:
    """RPCs on a missing id answer NOT_FOUND: the kubelet treats exactly that code as "gone"."""
    with pytest.raises(NotFound):
        await NOT_FOUND[rpc](cri)


async def test_ambiguous_prefix_is_an_error(ws: Workspace) -> None:
    """An empty-ish prefix matching many sandboxes is refused, not resolved to one of them."""
    await ws.run_pod()
    await ws.run_pod()
    with pytest.raises(CRIError):
        await ws.cri.pod_sandbox_status("")


def _raw(cri: CRIClient, service: str, rpc: str) -> Callable[..., Awaitable[Message]]:
    stub = cri.raw_runtime if service == "runtime" else cri.raw_images
    method: Callable[..., Awaitable[Message]] = getattr(stub, rpc)
    return method


MALFORMED: dict[str, tuple[str, str, Message]] = {
    "RunPodSandbox without config": ("runtime", "RunPodSandbox", pb.RunPodSandboxRequest()),
    "RunPodSandbox without metadata": (
        "runtime", "RunPodSandbox", pb.RunPodSandboxRequest(config=pb.PodSandboxConfig(hostname="h"))
    ),
    "CreateContainer without config": (
        "runtime", "CreateContainer", pb.CreateContainerRequest(pod_sandbox_id=MISSING)
    ),
    "PodSandboxStatus without id": ("runtime", "PodSandboxStatus", pb.PodSandboxStatusRequest()),
    "ContainerStatus without id": ("runtime", "ContainerStatus", pb.ContainerStatusRequest()),
    "StartContainer without id": ("runtime", "StartContainer", pb.StartContainerRequest()),
    "ExecSync without cmd": ("runtime", "ExecSync", pb.ExecSyncRequest(container_id=MISSING)),
    "Exec without cmd": ("runtime", "Exec", pb.ExecRequest(container_id=MISSING, stdout=True)),
    "PullImage without image": ("images", "PullImage", pb.PullImageRequest()),
    "ImageStatus without image": ("images", "ImageStatus", pb.ImageStatusRequest()),
    "RemoveImage without image": ("images", "RemoveImage", pb.RemoveImageRequest()),
}  # fmt: skip


@pytest.mark.deviation(
    "containerd",
    "1.6",
    reason="answers UNKNOWN or NOT_FOUND for a missing required field",
    raises=AssertionError,
    match=r"^\w+: (UNKNOWN|NOT_FOUND): ",
)
@pytest.mark.parametrize("case", list(MALFORMED))
async def test_malformed_request_is_invalid_argument(cri: CRIClient, case: str) -> None:
    """A request missing a required field answers INVALID_ARGUMENT: callers learn which field is wrong."""
    service, rpc, request = MALFORMED[case]
    try:
        await _raw(cri, service, rpc)(request, timeout=30)
    except grpc.aio.AioRpcError as exc:
        assert exc.code() == InvalidArgument.code, f"{rpc}: {exc.code().name}: {exc.details()}"
        assert exc.details(), "INVALID_ARGUMENT without a message"
        return
    raise AssertionError(f"{case} was accepted")


async def test_checkpoint_missing_container(cri: CRIClient) -> None:
    """CheckpointContainer of a missing container answers NOT_FOUND or UNIMPLEMENTED, never UNKNOWN."""
    try:
        await cri.checkpoint_container(MISSING, "/tmp/tinykube-conformance/checkpoint.tar")
    except grpc.aio.AioRpcError as exc:  # pragma: no cover - the client maps codes
        raise AssertionError(exc.code().name) from exc
    except CRIError as exc:
        assert exc.code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNIMPLEMENTED), exc.code.name
        return
    raise AssertionError("checkpoint of a missing container succeeded")
