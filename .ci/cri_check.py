"""Readiness and smoke checks of a CRI endpoint for the CI scripts, over the raw generated stubs.

    cri_check.py ready ENDPOINT   Version and Status: exit 0 when RuntimeReady and NetworkReady
    cri_check.py smoke ENDPOINT   pull the seeded images, run a pod and a container in it, clean up

ENDPOINT is ``unix:///path``. Kept independent of ``cri.client`` on purpose: it judges the
engine, so a bug in our client cannot make a broken engine look healthy.
"""

from __future__ import annotations

import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import grpc

from cri.v1 import api_pb2 as pb
from cri.v1 import api_pb2_grpc as pb_grpc

CONNECT_TIMEOUT_S = 5.0
CALL_TIMEOUT_S = 30.0
BUSYBOX = "docker.io/library/busybox:1.36"
PAUSE = "registry.k8s.io/pause:3.10"
IFF_UP = 0x1


class SmokeFailure(Exception):
    """The engine answered, but not as a working CRI runtime must."""


@dataclass(frozen=True, kw_only=True)
class Stubs:
    runtime: pb_grpc.RuntimeServiceStub
    images: pb_grpc.ImageServiceStub


@contextmanager
def connect(endpoint: str) -> Iterator[Stubs]:
    with grpc.insecure_channel(endpoint) as channel:
        grpc.channel_ready_future(channel).result(timeout=CONNECT_TIMEOUT_S)
        yield Stubs(runtime=pb_grpc.RuntimeServiceStub(channel), images=pb_grpc.ImageServiceStub(channel))


def ready(stubs: Stubs) -> int:
    version = stubs.runtime.Version(pb.VersionRequest(), timeout=CALL_TIMEOUT_S)
    print(f"{version.runtime_name} {version.runtime_version} (CRI {version.runtime_api_version})")
    status = stubs.runtime.Status(pb.StatusRequest(), timeout=CALL_TIMEOUT_S)
    conditions = {condition.type: condition for condition in status.status.conditions}
    for condition in conditions.values():
        print(f"  {condition.type}={condition.status} {condition.reason} {condition.message}".rstrip())
    wanted = ("RuntimeReady", "NetworkReady")
    return 0 if all(name in conditions and conditions[name].status for name in wanted) else 1


@contextmanager
def timed(what: str) -> Iterator[None]:
    started = time.monotonic()
    yield
    print(f"  {what}: {(time.monotonic() - started) * 1000:.0f} ms")


def pull(stubs: Stubs, reference: str) -> None:
    with timed(f"PullImage {reference}"):
        response = stubs.images.PullImage(
            pb.PullImageRequest(image=pb.ImageSpec(image=reference)), timeout=CALL_TIMEOUT_S
        )
    print(f"    image_ref={response.image_ref}")


def run_pod(stubs: Stubs) -> tuple[str, pb.PodSandboxConfig]:
    suffix = uuid.uuid4().hex[:8]
    config = pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=f"ci-smoke-{suffix}", namespace="ci", uid=suffix, attempt=0),
        hostname="ci-smoke",
        log_directory=f"/tmp/ci-smoke-{suffix}",
        linux=pb.LinuxPodSandboxConfig(),
    )
    with timed("RunPodSandbox"):
        sandbox_id = stubs.runtime.RunPodSandbox(
            pb.RunPodSandboxRequest(config=config), timeout=CALL_TIMEOUT_S
        ).pod_sandbox_id
    status = stubs.runtime.PodSandboxStatus(
        pb.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id), timeout=CALL_TIMEOUT_S
    ).status
    state = pb.PodSandboxState.Name(status.state)
    print(f"    sandbox {sandbox_id[:13]} state={state} ip={status.network.ip}")
    return sandbox_id, config


def run_container(stubs: Stubs, sandbox_id: str, sandbox_config: pb.PodSandboxConfig) -> None:
    config = pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name="sleeper"),
        image=pb.ImageSpec(image=BUSYBOX),
        command=["sleep", "3600"],
        log_path="sleeper.log",
    )
    with timed("CreateContainer"):
        request = pb.CreateContainerRequest(
            pod_sandbox_id=sandbox_id, config=config, sandbox_config=sandbox_config
        )
        container_id = stubs.runtime.CreateContainer(request, timeout=CALL_TIMEOUT_S).container_id
    with timed("StartContainer"):
        stubs.runtime.StartContainer(
            pb.StartContainerRequest(container_id=container_id), timeout=CALL_TIMEOUT_S
        )
    result = stubs.runtime.ExecSync(
        pb.ExecSyncRequest(container_id=container_id, cmd=["cat", "/sys/class/net/lo/flags"], timeout=10),
        timeout=CALL_TIMEOUT_S,
    )
    loopback_up = result.exit_code == 0 and int(result.stdout.decode().strip() or "0", 16) & IFF_UP
    loopback = "up" if loopback_up else "DOWN"
    print(f"    ExecSync in {container_id[:13]}: exit={result.exit_code} loopback {loopback}")
    if not loopback_up:
        raise SmokeFailure("the pod's loopback interface is not up")


def remove_pod(stubs: Stubs, sandbox_id: str) -> None:
    with timed("StopPodSandbox"):
        stubs.runtime.StopPodSandbox(
            pb.StopPodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=CALL_TIMEOUT_S
        )
    with timed("RemovePodSandbox"):
        stubs.runtime.RemovePodSandbox(
            pb.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=CALL_TIMEOUT_S
        )


def smoke(stubs: Stubs) -> int:
    pull(stubs, BUSYBOX)
    pull(stubs, PAUSE)
    sandbox_id, sandbox_config = run_pod(stubs)
    try:
        run_container(stubs, sandbox_id, sandbox_config)
    finally:
        remove_pod(stubs, sandbox_id)
        shutil.rmtree(sandbox_config.log_directory, ignore_errors=True)
    return 0


CHECKS = {"ready": ready, "smoke": smoke}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in CHECKS:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with connect(argv[1]) as stubs:
            return CHECKS[argv[0]](stubs)
    except grpc.FutureTimeoutError:
        print(f"cri_check: nothing answered on {argv[1]} within {CONNECT_TIMEOUT_S:.0f} s", file=sys.stderr)
    except SmokeFailure as failure:
        print(f"cri_check: {failure}", file=sys.stderr)
    except grpc.RpcError as error:
        print(f"cri_check: {error.code().name}: {error.details()}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
