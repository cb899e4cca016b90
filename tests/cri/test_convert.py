"""Domain objects survive the trip through protobuf unchanged, both ways."""

from __future__ import annotations

from cri import domain as d
from cri.convert import from_proto, to_proto
from cri.v1 import api_pb2 as pb


def test_container_config_round_trips_with_wrappers_enums_maps_and_repeated() -> None:
    config = d.ContainerConfig(
        metadata=d.ContainerMetadata(name="web", attempt=2),
        image=d.ImageSpec(image="busybox", annotations={"a": "b"}),
        command=("sh", "-c"),
        envs=(d.KeyValue(key="NAME", value=b"\xff raw bytes"),),
        mounts=(d.Mount(container_path="/data", propagation=d.MountPropagation.PROPAGATION_BIDIRECTIONAL),),
        labels={"io.kubernetes.container.name": "web"},
        linux=d.LinuxContainerConfig(
            security_context=d.LinuxContainerSecurityContext(run_as_user=0, readonly_rootfs=True),
            resources=d.LinuxContainerResources(memory_limit_in_bytes=64 << 20),
        ),
    )
    message = to_proto(config, pb.ContainerConfig)
    assert message.linux.security_context.HasField("run_as_user")
    assert not message.linux.security_context.HasField("run_as_group")
    assert message.mounts[0].propagation == pb.PROPAGATION_BIDIRECTIONAL
    assert from_proto(message, d.ContainerConfig) == config


def test_unset_messages_and_wrappers_read_back_as_none() -> None:
    status = from_proto(pb.ContainerStatus(id="x"), d.ContainerStatus)
    assert status.metadata is None and status.resources is None
    context = from_proto(pb.LinuxContainerSecurityContext(), d.LinuxContainerSecurityContext)
    assert context.run_as_user is None


def test_an_empty_but_present_message_stays_present() -> None:
    message = to_proto(d.PodSandboxConfig(linux=d.LinuxPodSandboxConfig()), pb.PodSandboxConfig)
    assert message.HasField("linux")
