"""Pod cgroup limits (cgroup v1): the pod's totals, and writing them where runc would put its containers.

Unit tests use a directory tree shaped like /sys/fs/cgroup; the integration tests use the real one.
"""

from __future__ import annotations

import errno
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cri import domain as d
from shims.node import cgroups
from shims.node.cgroups import CgroupLimits, CgroupWriteError, apply_limits, pod_limits, read_limits

MiB = 1 << 20
NONE = d.LinuxContainerResources()


def test_pod_totals_are_the_containers_sum_plus_overhead() -> None:
    resources = d.LinuxContainerResources(
        cpu_shares=512,
        cpu_quota=150_000,
        cpu_period=100_000,
        memory_limit_in_bytes=256 * MiB,
        cpuset_cpus="0",
    )
    overhead = d.LinuxContainerResources(
        cpu_shares=10, cpu_quota=5_000, cpu_period=50_000, memory_limit_in_bytes=32 * MiB
    )
    assert pod_limits(resources, overhead) == CgroupLimits(
        cpu_shares=522, cpu_period=100_000, cpu_quota=160_000, memory_limit=288 * MiB, cpuset_cpus="0"
    )


def test_overhead_never_limits_what_the_containers_leave_unlimited() -> None:
    overhead = d.LinuxContainerResources(cpu_shares=10, cpu_quota=5_000, memory_limit_in_bytes=32 * MiB)
    assert pod_limits(NONE, overhead) == CgroupLimits()
    lifted = pod_limits(d.LinuxContainerResources(cpu_quota=-1), overhead)
    assert (lifted.cpu_quota, lifted.cpu_period) == (cgroups.UNLIMITED_QUOTA, cgroups.DEFAULT_CPU_PERIOD)


@pytest.mark.parametrize(
    ("resources", "named"),
    [
        (d.LinuxContainerResources(memory_limit_in_bytes=-5), "memory_limit_in_bytes"),
        (d.LinuxContainerResources(cpu_shares=1), "cpu_shares"),
        (d.LinuxContainerResources(cpu_period=500), "cpu_period"),
        (d.LinuxContainerResources(cpu_period=2_000_000), "cpu_period"),
    ],
)
def test_impossible_limits_are_named(resources: d.LinuxContainerResources, named: str) -> None:
    problem = cgroups.invalid_limits(resources)
    assert problem is not None and named in problem
    assert cgroups.invalid_limits(d.LinuxContainerResources(cpu_shares=2, cpu_period=1_000)) is None


@pytest.fixture
def fake_root(tmp_path: Path) -> Path:
    for hierarchy in ("cpu", "memory", "cpuset"):
        (tmp_path / hierarchy).mkdir()
    (tmp_path / "cpuset/cpuset.cpus").write_text("0-1\n")
    (tmp_path / "cpuset/cpuset.mems").write_text("0\n")
    return tmp_path


def test_limits_land_in_each_hierarchy_and_unset_ones_stay(fake_root: Path) -> None:
    pod_cpu = fake_root / "cpu/kubepods/pod1"
    pod_cpu.mkdir(parents=True)
    (pod_cpu / "cpu.cfs_quota_us").write_text("-1")
    apply_limits("/kubepods/pod1", CgroupLimits(cpu_shares=512, memory_limit=64 * MiB), root=fake_root)
    assert (pod_cpu / "cpu.shares").read_text() == "512"
    assert (pod_cpu / "cpu.cfs_quota_us").read_text() == "-1"
    assert read_limits("/kubepods/pod1", root=fake_root).memory_limit == 64 * MiB
    assert not (fake_root / "cpuset/kubepods").exists()


def test_a_new_cpuset_directory_inherits_cpus_and_memory_nodes(fake_root: Path) -> None:
    apply_limits("/tinykube/sandbox", CgroupLimits(cpuset_cpus="1"), root=fake_root)
    assert (fake_root / "cpuset/tinykube/cpuset.cpus").read_text() == "0-1"
    assert (fake_root / "cpuset/tinykube/sandbox/cpuset.mems").read_text() == "0"
    assert (fake_root / "cpuset/tinykube/sandbox/cpuset.cpus").read_text() == "1"


def test_a_refused_write_names_file_value_and_reason(fake_root: Path) -> None:
    (fake_root / "memory/pod/memory.limit_in_bytes").mkdir(parents=True)
    with pytest.raises(CgroupWriteError, match=r"memory\.limit_in_bytes") as caught:
        apply_limits("/pod", CgroupLimits(memory_limit=MiB), root=fake_root)
    assert caught.value.errno == errno.EISDIR and str(MiB) in caught.value.message


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="writes /sys/fs/cgroup")


@pytest.fixture
def real_pod_cgroup() -> Iterator[str]:
    path = f"/tinykube-cgtest-{uuid.uuid4().hex[:12]}/pod"
    try:
        yield path
    finally:
        cgroups.remove(path.rsplit("/", 1)[0])


@pytest.mark.integration
@needs_root
def test_the_kernel_holds_the_pod_limits(real_pod_cgroup: str) -> None:
    wanted = CgroupLimits(
        cpu_shares=512, cpu_period=100_000, cpu_quota=50_000, memory_limit=64 * MiB, cpuset_cpus="0"
    )
    apply_limits(real_pod_cgroup, wanted, root=cgroups.CGROUP_ROOT)
    held = read_limits(real_pod_cgroup)
    assert held == CgroupLimits(
        cpu_shares=512,
        cpu_period=100_000,
        cpu_quota=50_000,
        memory_limit=64 * MiB,
        cpuset_cpus="0",
        cpuset_mems=read_limits("/").cpuset_mems,
    )


@pytest.mark.integration
@needs_root
def test_a_pod_quota_below_a_containers_is_refused_with_einval(real_pod_cgroup: str) -> None:
    apply_limits(f"{real_pod_cgroup}/container", CgroupLimits(cpu_period=100_000, cpu_quota=80_000))
    with pytest.raises(CgroupWriteError, match=r"cpu\.cfs_quota_us") as caught:
        apply_limits(real_pod_cgroup, CgroupLimits(cpu_period=100_000, cpu_quota=20_000))
    assert caught.value.errno == errno.EINVAL


def test_a_child_cgroup_removed_during_the_count_does_not_fail_the_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pod = tmp_path / "pids" / "pod"
    (pod / "exited").mkdir(parents=True)
    (pod / "cgroup.procs").write_text("1\n2\n")
    real_scandir = os.scandir

    def scandir(path: object) -> object:
        if str(path).endswith("exited"):  # the container exited and its cgroup was removed meanwhile
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return real_scandir(path)  # type: ignore[call-overload]

    monkeypatch.setattr(os, "scandir", scandir)
    assert cgroups.sample("/pod", root=tmp_path).process_count == 2
