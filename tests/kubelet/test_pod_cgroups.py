"""The kubelet removes a terminated pod's cgroup (cgroupfs) in every hierarchy, and only if empty."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from api.core.v1.manifest import load_pod
from api.core.v1.pods import pod_uid
from api.model.core_v1 import Pod
from kubelet.pod_cgroups import pod_cgroup_dirs, remove_pod_cgroup
from kubelet.sandbox_config import NodeSettings

MANIFEST = b"""apiVersion: v1
kind: Pod
metadata: {name: web, uid: 0f2c7d3e-1111-4222-8333-944445555666}
spec:
  containers:
  - {name: app, image: busybox}
"""
SETTINGS = NodeSettings(node_name="node", pod_logs_dir="/var/log/pods")


def _pod() -> Pod:
    return load_pod(MANIFEST).pod


def test_the_pods_cgroup_goes_from_every_hierarchy_and_every_tier(tmp_path: Path) -> None:
    pod = _pod()
    made = [
        tmp_path / "memory/kubepods/besteffort" / f"pod{pod_uid(pod)}",
        tmp_path / "cpu/kubepods/besteffort" / f"pod{pod_uid(pod)}",
        tmp_path / "unified/kubepods/burstable" / f"pod{pod_uid(pod)}",
    ]
    for directory in made:
        directory.mkdir(parents=True)
    other = tmp_path / "memory/kubepods/besteffort/podanother"
    other.mkdir()
    assert sorted(pod_cgroup_dirs(pod, SETTINGS, root=tmp_path)) == sorted(made)
    remove_pod_cgroup(pod, SETTINGS, root=tmp_path)
    assert pod_cgroup_dirs(pod, SETTINGS, root=tmp_path) == []
    assert other.is_dir() and (tmp_path / "memory/kubepods/besteffort").is_dir()


def test_a_cgroup_still_holding_a_child_stays(tmp_path: Path) -> None:
    pod = _pod()
    busy = tmp_path / "memory/kubepods/besteffort" / f"pod{pod_uid(pod)}"
    (busy / "container-left-by-the-runtime").mkdir(parents=True)
    remove_pod_cgroup(pod, SETTINGS, root=tmp_path)
    assert (busy / "container-left-by-the-runtime").is_dir()


def test_the_systemd_driver_leaves_slices_to_systemd(tmp_path: Path) -> None:
    pod = _pod()
    slice_dir = tmp_path / "memory/kubepods-besteffort-pod0f2c7d3e_1111_4222_8333_944445555666.slice"
    slice_dir.mkdir(parents=True)
    settings = dataclasses.replace(SETTINGS, cgroup_driver="systemd")
    remove_pod_cgroup(pod, settings, root=tmp_path)
    assert slice_dir.is_dir()
