"""What the kubelet hands the runtime: env, DNS, cgroup parent, resources, security, volumes."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from api.core.v1.pods import annotations_of, pod_name, pod_spec, pod_uid
from cri import domain as d
from kubelet.env import EnvError, PodFacts, container_env, expand
from kubelet.resources import linux_resources
from kubelet.sandbox_config import NodeSettings, cgroup_parent, dns_config, sandbox_config
from kubelet.security import container_security_context
from kubelet.static_source import scan
from kubelet.volumes import VolumeError, VolumeManager, container_mounts

from .podspecs import make_pod

FACTS = PodFacts(node_name="node1", host_ip="192.0.2.10", pod_ip="10.1.0.5")
SETTINGS = NodeSettings(node_name="node1", cluster_dns=("10.96.0.10",), cluster_domain="cluster.local")


def test_env_from_values_field_and_resource_references() -> None:
    pod = make_pod(
        containers=[
            {
                "name": "app",
                "image": "x:1",
                "resources": {"limits": {"memory": "64Mi", "cpu": "500m"}},
                "env": [
                    {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                    {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                    {
                        "name": "MEM",
                        "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}},
                    },
                    {
                        "name": "CPU",
                        "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}},
                    },
                    {"name": "URL", "value": "http://$(IP):80/$(MISSING)/$$(IP)"},
                ],
            }
        ]
    )
    env = container_env(pod, pod_spec(pod).containers[0], FACTS)
    assert env == {
        "NS": "default",
        "IP": "10.1.0.5",
        "MEM": "64",
        "CPU": "500",
        "URL": "http://10.1.0.5:80/$(MISSING)/$(IP)",
    }


def test_unsupported_field_path_is_an_error() -> None:
    pod = make_pod(
        containers=[
            {
                "name": "app",
                "image": "x:1",
                "env": [{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "spec.nope"}}}],
            }
        ]
    )
    with pytest.raises(EnvError, match=r"unsupported fieldPath 'spec\.nope'"):
        container_env(pod, pod_spec(pod).containers[0], FACTS)


def test_expansion_of_commands() -> None:
    assert expand("echo $(A) $(B)", {"A": "1"}) == "echo 1 $(B)"


def test_cluster_dns_and_pod_dns_config() -> None:
    pod = make_pod(dnsConfig={"searches": ["extra.example"], "options": [{"name": "ndots", "value": "2"}]})
    config = dns_config(pod, SETTINGS)
    assert config.servers == ("10.96.0.10",)
    assert config.searches == (
        "default.svc.cluster.local",
        "svc.cluster.local",
        "cluster.local",
        "extra.example",
    )
    assert config.options == ("ndots:5", "ndots:2")
    none = make_pod(dnsPolicy="None", dnsConfig={"nameservers": ["192.0.2.53"]})
    assert dns_config(none, SETTINGS) == d.DNSConfig(servers=("192.0.2.53",))


def test_cgroup_parent_follows_qos_and_driver() -> None:
    pod = make_pod(uid="1234-5678")
    assert cgroup_parent(pod, SETTINGS, "BestEffort") == "/kubepods/besteffort/pod1234-5678"
    assert cgroup_parent(pod, SETTINGS, "Guaranteed") == "/kubepods/pod1234-5678"
    systemd = NodeSettings(node_name="n", cgroup_driver="systemd")
    assert cgroup_parent(pod, systemd, "Burstable") == "kubepods-burstable-pod1234_5678.slice"


def test_sandbox_config_for_host_network_pod() -> None:
    pod = make_pod(
        hostNetwork=True,
        hostPID=True,
        containers=[{"name": "a", "image": "x:1", "ports": [{"containerPort": 53, "protocol": "UDP"}]}],
    )
    config = sandbox_config(pod, SETTINGS, attempt=2, qos="BestEffort")
    assert config.metadata == d.PodSandboxMetadata(name="web", uid="uid-1", namespace="default", attempt=2)
    assert config.hostname == "node1"
    assert config.port_mappings == (d.PortMapping(protocol=d.Protocol.UDP, container_port=53),)
    options = config.linux.security_context.namespace_options  # type: ignore[union-attr]
    assert options is not None
    node, pod_mode = d.NamespaceMode.NODE, d.NamespaceMode.POD
    assert (options.network, options.pid, options.ipc) == (node, node, pod_mode)


def test_resources_become_shares_quota_and_memory_limit() -> None:
    pod = make_pod(
        containers=[
            {
                "name": "a",
                "image": "x:1",
                "resources": {
                    "requests": {"cpu": "250m", "memory": "64Mi"},
                    "limits": {"cpu": "1", "memory": "128Mi"},
                },
            }
        ]
    )
    resources = linux_resources(pod_spec(pod).containers[0], qos="Burstable", node_memory=2**30)
    assert (resources.cpu_shares, resources.cpu_quota, resources.cpu_period) == (256, 100_000, 100_000)
    assert resources.memory_limit_in_bytes == 128 * 2**20
    assert resources.oom_score_adj == 938


def test_security_context_merges_pod_and_container() -> None:
    pod = make_pod(
        securityContext={"runAsUser": 1000, "fsGroup": 2000, "supplementalGroups": [4000]},
        containers=[
            {
                "name": "a",
                "image": "x:1",
                "securityContext": {
                    "runAsUser": 1001,
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
            }
        ],
    )
    context = container_security_context(pod, pod_spec(pod).containers[0])
    assert context.run_as_user == 1001 and context.no_new_privs
    assert context.supplemental_groups == (4000, 2000)
    assert context.capabilities == d.Capability(drop_capabilities=("ALL",))
    assert "/proc/kcore" in context.masked_paths


async def test_volumes_host_path_checks_empty_dir_and_downward_api(tmp_path: Path) -> None:
    existing = tmp_path / "existing"
    existing.mkdir()
    pod = make_pod(
        volumes=[
            {"name": "made", "hostPath": {"path": str(tmp_path / "made"), "type": "DirectoryOrCreate"}},
            {"name": "scratch", "emptyDir": {}},
            {
                "name": "info",
                "downwardAPI": {"items": [{"path": "meta/name", "fieldRef": {"fieldPath": "metadata.name"}}]},
            },
        ],
        containers=[
            {
                "name": "a",
                "image": "x:1",
                "volumeMounts": [
                    {"name": "scratch", "mountPath": "/s", "subPath": "sub"},
                    {"name": "made", "mountPath": "/m", "readOnly": True},
                ],
            }
        ],
    )
    manager = VolumeManager(tmp_path / "root")
    paths = await manager.prepare(pod, FACTS)
    assert stat.S_ISDIR((tmp_path / "made").stat().st_mode)
    assert (paths["info"] / "meta" / "name").read_text() == "web"
    mounts = container_mounts(pod_spec(pod).containers[0], paths)
    assert mounts[0].host_path == str(paths["scratch"] / "sub") and (paths["scratch"] / "sub").is_dir()
    assert mounts[1].readonly
    await manager.cleanup(pod_uid(pod))
    assert not manager.pod_dir(pod_uid(pod)).exists()


async def test_host_path_type_mismatch_names_the_volume(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    pod = make_pod(volumes=[{"name": "h", "hostPath": {"path": str(tmp_path / "file"), "type": "Directory"}}])
    with pytest.raises(
        VolumeError, match=r'volume "h" : hostPath type check failed: .*/file is not a directory'
    ):
        await VolumeManager(tmp_path / "root").prepare(pod, FACTS)
    pod_socket = make_pod(
        volumes=[{"name": "s", "hostPath": {"path": str(tmp_path / "sock"), "type": "Socket"}}]
    )
    with pytest.raises(VolumeError, match="does not exist"):
        await VolumeManager(tmp_path / "root").prepare(pod_socket, FACTS)
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(tmp_path / "sock"))
        await VolumeManager(tmp_path / "root").prepare(pod_socket, FACTS)


def test_sub_path_may_not_escape(tmp_path: Path) -> None:
    pod = make_pod(
        volumes=[{"name": "v", "emptyDir": {}}],
        containers=[
            {
                "name": "a",
                "image": "x:1",
                "volumeMounts": [{"name": "v", "mountPath": "/v", "subPath": "../../etc"}],
            }
        ],
    )
    with pytest.raises(VolumeError, match="escapes"):
        container_mounts(pod_spec(pod).containers[0], {"v": tmp_path / "v"})


def test_static_pods_are_renamed_and_hashed_per_node(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, image: 'x:1'}]}\n"
    )
    (tmp_path / "dup.json").write_text(
        '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"},'
        ' "spec": {"containers": [{"name": "c", "image": "y:1"}]}}'
    )
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / ".hidden.yaml").write_text("ignored: [")
    first = scan(tmp_path, node_name="n1")
    [pod] = first.pods.values()
    assert pod_name(pod) == "a-n1" and pod_spec(pod).node_name == "n1"
    assert annotations_of(pod)["kubernetes.io/config.hash"] == pod_uid(pod)
    assert list(first.errors) == [str(tmp_path / "dup.json")]
    assert "duplicate pod default/a-n1" in first.errors[str(tmp_path / "dup.json")]
    other_node = scan(tmp_path, node_name="n2")
    assert set(other_node.pods) != set(first.pods)
    os.utime(tmp_path / "a.yaml")
    assert set(scan(tmp_path, node_name="n1").pods) == set(first.pods)
