"""Records persist in the domain's own JSON shape: every field comes back, bad data is refused."""

from __future__ import annotations

import json

import pytest

from cri import domain as d
from cri.domain.jsoncodec import DecodeError, decode, encode

CONTAINER = d.ContainerConfig(
    metadata=d.ContainerMetadata(name="app", attempt=2),
    image=d.ImageSpec(image="busybox", annotations={"a": "b"}),
    command=("sh", "-c"),
    envs=(d.KeyValue(key="RAW", value=b"\xff bytes"),),
    labels={"app": "x"},
    mounts=(
        d.Mount(
            container_path="/data", host_path="/srv", propagation=d.MountPropagation.PROPAGATION_BIDIRECTIONAL
        ),
    ),
    linux=d.LinuxContainerConfig(
        resources=d.LinuxContainerResources(cpu_shares=512, memory_limit_in_bytes=1 << 20),
        security_context=d.LinuxContainerSecurityContext(
            namespace_options=d.NamespaceOption(pid=d.NamespaceMode.TARGET, target_id="abc"), run_as_user=0
        ),
    ),
)
SANDBOX = d.PodSandboxConfig(
    metadata=d.PodSandboxMetadata(name="p", namespace="n", uid="u"),
    port_mappings=(d.PortMapping(protocol=d.Protocol.UDP, container_port=53, host_port=5353),),
    dns_config=d.DNSConfig(servers=("10.0.0.10",), searches=("svc",)),
    linux=d.LinuxPodSandboxConfig(sysctls={"net.ipv4.ip_forward": "1"}),
)


@pytest.mark.parametrize("config", [CONTAINER, SANDBOX])
def test_a_config_survives_a_round_trip_through_json_text(config: object) -> None:
    assert decode(type(config), json.loads(json.dumps(encode(config)))) == config


def test_enums_are_written_by_name() -> None:
    assert encode(SANDBOX)["port_mappings"][0]["protocol"] == "UDP"


@pytest.mark.parametrize(
    "data",
    [3, {"metadata": "p"}, {"port_mappings": [{"protocol": "CARRIER_PIGEON"}]}, {"hostname": 7}],
)
def test_data_of_another_shape_is_a_decode_error(data: object) -> None:
    with pytest.raises(DecodeError):
        decode(d.PodSandboxConfig, data)
