"""The OCI runtime spec builder: golden files for whole specs, and the rules users rely on.

Regenerate the golden files after a deliberate change with ``TINYKUBE_UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from cri import domain as d
from shims.node.identity import ProcessUser
from shims.node.ocispec import (
    ALL_CAPABILITIES,
    DEFAULT_CAPABILITIES,
    HOST,
    ImageProcess,
    PodFiles,
    PodNamespaces,
    SpecInputs,
    build_spec,
    capabilities,
    parse_bounding_set,
    process_args,
)

GOLDEN = Path(__file__).parent / "golden"
POD_NAMESPACES = PodNamespaces(
    network="/run/pod/ns/net", ipc="/run/pod/ns/ipc", uts="/run/pod/ns/uts", pid=None
)
POD_FILES = PodFiles(
    resolv_conf="/run/pod/resolv.conf",
    hosts="/run/pod/hosts",
    hostname="/run/pod/hostname",
    shm="/run/pod/shm",
)
IMAGE = ImageProcess(
    entrypoint=("/entry",), cmd=("serve",), env=("PATH=/image/bin", "LANG=C"), working_dir="/srv"
)


def security(**fields: Any) -> d.LinuxContainerConfig:
    return d.LinuxContainerConfig(security_context=d.LinuxContainerSecurityContext(**fields))


def inputs(config: d.ContainerConfig, **overrides: Any) -> SpecInputs:
    values: dict[str, Any] = {
        "config": config,
        "image": IMAGE,
        "user": ProcessUser(uid=0, gid=0, home="/root"),
        "rootfs": "/var/lib/rootfs",
        "hostname": "",
        "namespaces": POD_NAMESPACES,
        "pod_files": POD_FILES,
        "cgroups_path": "/kubepods/pod1/tkrunc-c1",
        "oom_score_adj_floor": 0,
    }
    values.update(overrides)
    return SpecInputs(**values)


CASES: dict[str, SpecInputs] = {
    "default": inputs(d.ContainerConfig(metadata=d.ContainerMetadata(name="app"))),
    "restricted": inputs(
        d.ContainerConfig(
            metadata=d.ContainerMetadata(name="app"),
            command=("sh", "-c"),
            args=("echo hi",),
            envs=(d.KeyValue(key="MODE", value=b"prod"), d.KeyValue(key="PATH", value=b"/bin")),
            working_dir="/work",
            tty=True,
            linux=d.LinuxContainerConfig(
                resources=d.LinuxContainerResources(
                    cpu_shares=512,
                    cpu_quota=50000,
                    cpu_period=100000,
                    memory_limit_in_bytes=64 << 20,
                    oom_score_adj=-998,
                    cpuset_cpus="0",
                    hugepage_limits=(d.HugepageLimit(page_size="2MB", limit=0),),
                ),
                security_context=d.LinuxContainerSecurityContext(
                    capabilities=d.Capability(
                        add_capabilities=("NET_ADMIN",), drop_capabilities=("CHOWN", "KILL")
                    ),
                    readonly_rootfs=True,
                    no_new_privs=True,
                    seccomp=d.SecurityProfile(profile_type=d.SecurityProfileProfileType.RuntimeDefault),
                    masked_paths=("/proc/kcore",),
                    readonly_paths=("/proc/sys",),
                ),
            ),
            mounts=(
                d.Mount(container_path="/data", host_path="/srv/data", readonly=True),
                d.Mount(
                    container_path="/shared",
                    host_path="/srv/shared",
                    propagation=d.MountPropagation.PROPAGATION_BIDIRECTIONAL,
                ),
            ),
        ),
        user=ProcessUser(uid=1000, gid=1000, additional_gids=(1234, 5)),
        oom_score_adj_floor=-500,
        sysctls={"kernel.shm_rmid_forced": "1"},
    ),
    "privileged_host_namespaces": inputs(
        d.ContainerConfig(metadata=d.ContainerMetadata(name="app"), linux=security(privileged=True)),
        namespaces=PodNamespaces(network=HOST, ipc=HOST, uts=HOST, pid=HOST),
    ),
    "localhost_seccomp_and_device": inputs(
        d.ContainerConfig(
            metadata=d.ContainerMetadata(name="app"),
            devices=(d.Device(container_path="/dev/xnull", host_path="/dev/null", permissions="rwm"),),
            linux=security(
                seccomp=d.SecurityProfile(
                    profile_type=d.SecurityProfileProfileType.Localhost, localhost_ref="/profiles/deny.json"
                )
            ),
        ),
        localhost_seccomp={"defaultAction": "SCMP_ACT_ERRNO"},
        host_devices={
            "/dev/null": {"type": "c", "major": 1, "minor": 3, "fileMode": 438, "uid": 0, "gid": 0}
        },
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_spec_matches_golden_file(case: str) -> None:
    spec = build_spec(CASES[case])
    path = GOLDEN / f"{case}.json"
    rendered = json.dumps(spec, indent=2, sort_keys=True) + "\n"
    if os.environ.get("TINYKUBE_UPDATE_GOLDEN"):
        path.write_text(rendered)
    assert rendered == path.read_text()


def test_command_replaces_entrypoint_and_args_replace_cmd() -> None:
    meta = d.ContainerMetadata(name="a")
    assert process_args(d.ContainerConfig(metadata=meta), IMAGE) == ["/entry", "serve"]
    assert process_args(d.ContainerConfig(metadata=meta, args=("x",)), IMAGE) == ["/entry", "x"]
    assert process_args(d.ContainerConfig(metadata=meta, command=("/bin/sh",)), IMAGE) == ["/bin/sh"]


def test_oom_score_adj_is_clamped_to_our_own() -> None:
    config = d.ContainerConfig(
        metadata=d.ContainerMetadata(name="a"),
        linux=d.LinuxContainerConfig(resources=d.LinuxContainerResources(oom_score_adj=-999)),
    )
    assert build_spec(inputs(config, oom_score_adj_floor=-100))["process"]["oomScoreAdj"] == -100
    assert build_spec(inputs(config, oom_score_adj_floor=-1000))["process"]["oomScoreAdj"] == -999


@pytest.mark.parametrize(
    ("add", "drop", "expected"),
    [
        ((), ("ALL",), []),
        (("NET_ADMIN",), ("ALL",), ["CAP_NET_ADMIN"]),
        (("ALL",), (), list(ALL_CAPABILITIES)),
        (("ALL",), ("SYS_ADMIN",), [c for c in ALL_CAPABILITIES if c != "CAP_SYS_ADMIN"]),
        ((), ("CAP_KILL",), [c for c in DEFAULT_CAPABILITIES if c != "CAP_KILL"]),
    ],
)
def test_capabilities_add_and_drop_including_all(
    add: tuple[str, ...], drop: tuple[str, ...], expected: list[str]
) -> None:
    context = d.LinuxContainerSecurityContext(
        capabilities=d.Capability(add_capabilities=add, drop_capabilities=drop)
    )
    assert capabilities(context) == expected


def test_unconfined_has_no_seccomp_and_privileged_has_no_masked_paths() -> None:
    unconfined = security(seccomp=d.SecurityProfile(profile_type=d.SecurityProfileProfileType.Unconfined))
    spec = build_spec(inputs(d.ContainerConfig(metadata=d.ContainerMetadata(name="a"), linux=unconfined)))
    assert "seccomp" not in spec["linux"]
    privileged = build_spec(CASES["privileged_host_namespaces"])
    assert "maskedPaths" not in privileged["linux"]
    assert [n["type"] for n in privileged["linux"]["namespaces"]] == ["mount"]


def test_user_mount_over_a_pod_file_replaces_it() -> None:
    config = d.ContainerConfig(
        metadata=d.ContainerMetadata(name="a"),
        mounts=(d.Mount(container_path="/etc/hosts", host_path="/custom/hosts"),),
    )
    hosts = [m for m in build_spec(inputs(config))["mounts"] if m["destination"] == "/etc/hosts"]
    assert [m["source"] for m in hosts] == ["/custom/hosts"]


def test_all_capabilities_means_those_the_runtime_holds() -> None:
    status = "Name:\tx\nCapBnd:\t000001fffeffffff\n"  # everything but CAP_SYS_RESOURCE (bit 24)
    bounding = parse_bounding_set(status)
    assert "CAP_SYS_RESOURCE" not in bounding and "CAP_SYS_ADMIN" in bounding
    privileged = d.LinuxContainerSecurityContext(privileged=True)
    assert capabilities(privileged, bounding=bounding) == [
        c for c in ALL_CAPABILITIES if c != "CAP_SYS_RESOURCE"
    ]
