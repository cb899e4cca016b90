"""CNI config discovery and what each plugin gets on stdin."""

from __future__ import annotations

import json
from pathlib import Path

from cri import domain as d
from shims.node.cni import Attachment, find_network, plugin_stdin

CONFLIST = {
    "cniVersion": "1.0.0",
    "name": "podnet",
    "plugins": [
        {"type": "bridge", "bridge": "tkrunc0"},
        {"type": "portmap", "capabilities": {"portMappings": True}},
    ],
}
ATTACHMENT = Attachment(
    container_id="abc", netns="/run/ns", pod_name="p", pod_namespace="ns",
    port_mappings=(d.PortMapping(container_port=80, host_port=12000, host_ip="127.0.0.1"),
                   d.PortMapping(container_port=81)),
)  # fmt: skip


def test_first_valid_config_by_name_wins_and_garbage_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "05-broken.conflist").write_text("{not json")
    (tmp_path / "10-net.conflist").write_text(json.dumps(CONFLIST))
    (tmp_path / "20-other.conf").write_text(json.dumps({"name": "other", "type": "bridge"}))
    network = find_network(tmp_path)
    assert network is not None
    assert (network.name, [p["type"] for p in network.plugins]) == ("podnet", ["bridge", "portmap"])


def test_missing_directory_means_no_network(tmp_path: Path) -> None:
    assert find_network(tmp_path / "absent") is None


def test_single_plugin_conf_is_a_one_plugin_list(tmp_path: Path) -> None:
    (tmp_path / "net.conf").write_text(json.dumps({"name": "solo", "type": "bridge", "cniVersion": "0.4.0"}))
    network = find_network(tmp_path)
    assert network is not None and network.cni_version == "0.4.0" and len(network.plugins) == 1


def test_port_mappings_go_only_to_plugins_declaring_the_capability(tmp_path: Path) -> None:
    (tmp_path / "10-net.conflist").write_text(json.dumps(CONFLIST))
    network = find_network(tmp_path)
    assert network is not None
    bridge = json.loads(plugin_stdin(network, network.plugins[0], ATTACHMENT, None))
    portmap = json.loads(plugin_stdin(network, network.plugins[1], ATTACHMENT, {"ips": []}))
    assert "runtimeConfig" not in bridge and bridge["name"] == "podnet"
    assert portmap["prevResult"] == {"ips": []}
    assert portmap["runtimeConfig"]["portMappings"] == [
        {"hostPort": 12000, "containerPort": 80, "protocol": "tcp", "hostIP": "127.0.0.1"}
    ]
