"""Security context: users, groups, rootfs, privileges, capabilities, masked paths, seccomp, namespaces."""

from __future__ import annotations

import os

import pytest

from conformance import images
from conformance.checks.helpers import exit_code, namespace_of, proc_status_field, sh
from conformance.pod import security
from conformance.workspace import Workspace
from cri import domain as d
from cri.errors import CRIError

pytestmark = [pytest.mark.conformance, pytest.mark.needs("processes")]
NODE, POD, CONTAINER = d.NamespaceMode.NODE, d.NamespaceMode.POD, d.NamespaceMode.CONTAINER
CAP_CHOWN, CAP_NET_ADMIN, CAP_SYS_ADMIN = 0, 12, 21


async def _start(ws: Workspace, image: str = images.BUSYBOX, **fields: object) -> str:
    return await ws.start(image=image, linux=security(**fields))


async def _cap_eff(ws: Workspace, container_id: str) -> int:
    return int(proc_status_field(await sh(ws.cri, container_id, "cat /proc/self/status"), "CapEff"), 16)


async def test_run_as_user(ws: Workspace) -> None:
    """run_as_user sets the process uid: runAsUser is a core pod security control."""
    container_id = await _start(ws, run_as_user=1234)
    assert await sh(ws.cri, container_id, "id -u") == "1234"


async def test_run_as_group(ws: Workspace) -> None:
    """run_as_group sets the primary gid: runAsGroup controls file ownership of new files."""
    container_id = await _start(ws, run_as_user=1234, run_as_group=5678)
    assert await sh(ws.cri, container_id, "id -g") == "5678"


async def test_run_as_username(ws: Workspace) -> None:
    """run_as_username resolves through the image's /etc/passwd: the kubelet passes image names."""
    container_id = await _start(ws, image=images.USER_NAME, run_as_username="app")
    assert await sh(ws.cri, container_id, "id -u") == "1234"


async def test_group_without_user_rejected(ws: Workspace) -> None:
    """run_as_group without a user is rejected: the group alone cannot be applied safely."""
    with pytest.raises(CRIError):
        await _start(ws, run_as_group=5678)


async def test_image_user_uid(ws: Workspace) -> None:
    """Without run_as_user the image's USER uid runs the process: images declare non-root users."""
    container_id = await ws.start(image=images.USER_UID)
    assert await sh(ws.cri, container_id, "id -u") == "1234"


async def test_image_user_name(ws: Workspace) -> None:
    """An image's USER name resolves through its /etc/passwd to uid and gid."""
    container_id = await ws.start(image=images.USER_NAME)
    assert await sh(ws.cri, container_id, "id -u; id -g") == "1234\n5678"


async def test_image_user_uid_gid(ws: Workspace) -> None:
    """An image's USER uid:gid sets both ids."""
    container_id = await ws.start(image=images.USER_UID_GID)
    assert await sh(ws.cri, container_id, "id -u; id -g") == "1234\n5678"


async def test_image_user_name_group(ws: Workspace) -> None:
    """An image's USER name:group resolves both through /etc/passwd and /etc/group."""
    container_id = await ws.start(image=images.USER_NAME_GROUP)
    assert await sh(ws.cri, container_id, "id -u; id -g") == "1234\n5678"


async def test_supplemental_groups(ws: Workspace) -> None:
    """supplemental_groups are added to the process: fsGroup and supplementalGroups rely on it."""
    container_id = await _start(ws, run_as_user=1234, supplemental_groups=(4001, 4002))
    groups = (await sh(ws.cri, container_id, "id -G")).split()
    assert {"4001", "4002"} <= set(groups)


@pytest.mark.deviation(
    "containerd",
    "1.6",
    reason="drops the image USER's /etc/group memberships",
    raises=AssertionError,
    match=r"^assert '4321' in \[",
)
async def test_image_supplemental_groups(ws: Workspace) -> None:
    """Groups the image's /etc/group gives the user are kept: apps rely on their image's groups."""
    container_id = await ws.start(image=images.USER_NAME)
    assert "4321" in (await sh(ws.cri, container_id, "id -G")).split()


async def test_run_as_username_supplemental_groups(ws: Workspace) -> None:
    """run_as_username gets the groups /etc/group gives that user: the image's group memberships hold."""
    container_id = await _start(ws, image=images.USER_NAME, run_as_username="app")
    assert "4321" in (await sh(ws.cri, container_id, "id -G")).split()


async def test_readonly_rootfs(ws: Workspace) -> None:
    """readonly_rootfs makes / read-only: readOnlyRootFilesystem hardens pods."""
    container_id = await _start(ws, readonly_rootfs=True)
    assert await exit_code(ws.cri, container_id, "touch /rootfs-write") != 0


async def test_writable_rootfs_by_default(ws: Workspace) -> None:
    """Without readonly_rootfs / is writable: most images write to their filesystem."""
    container_id = await _start(ws)
    assert await sh(ws.cri, container_id, "touch /rootfs-write && ls /rootfs-write") == "/rootfs-write"


async def test_privileged_can_mount(ws: Workspace) -> None:
    """A privileged container can mount filesystems: privileged pods (CNI, CSI) need that."""
    pod = await ws.run_pod(
        linux=d.LinuxPodSandboxConfig(
            security_context=d.LinuxSandboxSecurityContext(
                privileged=True, namespace_options=d.NamespaceOption(pid=CONTAINER)
            )
        )
    )
    container_id = await ws.start(pod, linux=security(privileged=True))
    mounts = await sh(
        ws.cri, container_id, "mkdir -p /mnt/t && mount -t tmpfs none /mnt/t && cat /proc/mounts"
    )
    assert " /mnt/t tmpfs " in mounts


async def test_unprivileged_cannot_mount(ws: Workspace) -> None:
    """A default container cannot mount: the default capability set excludes CAP_SYS_ADMIN."""
    container_id = await _start(ws)
    assert await exit_code(ws.cri, container_id, "mkdir -p /mnt/t && mount -t tmpfs none /mnt/t") != 0


async def test_privileged_has_all_capabilities(ws: Workspace) -> None:
    """A privileged container has CAP_SYS_ADMIN: privileged means every capability."""
    pod = await ws.run_pod(
        linux=d.LinuxPodSandboxConfig(
            security_context=d.LinuxSandboxSecurityContext(
                privileged=True, namespace_options=d.NamespaceOption(pid=CONTAINER)
            )
        )
    )
    container_id = await ws.start(pod, linux=security(privileged=True))
    assert await _cap_eff(ws, container_id) & (1 << CAP_SYS_ADMIN)


async def test_capability_add(ws: Workspace) -> None:
    """capabilities.add grants the capability: pods add NET_ADMIN this way."""
    container_id = await _start(ws, capabilities=d.Capability(add_capabilities=("NET_ADMIN",)))
    assert await _cap_eff(ws, container_id) & (1 << CAP_NET_ADMIN)


async def test_capability_not_default(ws: Workspace) -> None:
    """NET_ADMIN is not in the default set: adding it must be explicit."""
    container_id = await _start(ws)
    assert not await _cap_eff(ws, container_id) & (1 << CAP_NET_ADMIN)


async def test_capability_drop(ws: Workspace) -> None:
    """capabilities.drop removes the capability: pods drop CHOWN etc. to harden."""
    container_id = await _start(ws, capabilities=d.Capability(drop_capabilities=("CHOWN",)))
    assert not await _cap_eff(ws, container_id) & (1 << CAP_CHOWN)


async def test_capability_drop_all(ws: Workspace) -> None:
    """drop ALL leaves no capabilities: the restricted pod security standard requires it."""
    container_id = await _start(ws, capabilities=d.Capability(drop_capabilities=("ALL",)))
    assert await _cap_eff(ws, container_id) == 0


async def test_capability_drop_all_add_one(ws: Workspace) -> None:
    """drop ALL plus add NET_ADMIN leaves exactly NET_ADMIN: the restricted profile's allowed pattern."""
    caps = d.Capability(drop_capabilities=("ALL",), add_capabilities=("NET_ADMIN",))
    container_id = await _start(ws, capabilities=caps)
    assert await _cap_eff(ws, container_id) == 1 << CAP_NET_ADMIN


async def test_no_new_privs(ws: Workspace) -> None:
    """no_new_privs sets NoNewPrivs: allowPrivilegeEscalation=false relies on it."""
    container_id = await _start(ws, no_new_privs=True)
    status = await sh(ws.cri, container_id, "cat /proc/self/status")
    assert proc_status_field(status, "NoNewPrivs") == "1"


async def test_masked_path(ws: Workspace) -> None:
    """A masked path reads as empty: procMount Default hides /proc/kcore and friends this way."""
    container_id = await _start(ws, masked_paths=("/proc/cmdline",))
    script = "wc -c < /proc/cmdline; grep -c ' /proc/cmdline ' /proc/mounts"
    assert (await sh(ws.cri, container_id, script)).split() == ["0", "1"]  # empty, and a mount over it


async def test_unmasked_path_readable(ws: Workspace) -> None:
    """A path left out of masked_paths stays readable: the kubelet's list replaces the defaults."""
    container_id = await _start(ws, masked_paths=("/proc/kcore",))
    assert int(await sh(ws.cri, container_id, "wc -c < /proc/cmdline")) > 0


async def test_readonly_path(ws: Workspace) -> None:
    """A readonly path cannot be written: /proc/sys is read-only in unprivileged pods."""
    container_id = await _start(ws, readonly_paths=("/proc/sys",))
    assert await exit_code(ws.cri, container_id, "echo 1 > /proc/sys/kernel/shm_rmid_forced") != 0


async def test_seccomp_runtime_default(ws: Workspace) -> None:
    """seccomp RuntimeDefault filters syscalls (Seccomp: 2): the baseline profile."""
    profile = d.SecurityProfile(profile_type=d.SecurityProfileProfileType.RuntimeDefault)
    container_id = await _start(ws, seccomp=profile)
    assert proc_status_field(await sh(ws.cri, container_id, "cat /proc/self/status"), "Seccomp") == "2"


async def test_seccomp_unconfined(ws: Workspace) -> None:
    """seccomp Unconfined applies no filter (Seccomp: 0): debugging pods ask for it."""
    profile = d.SecurityProfile(profile_type=d.SecurityProfileProfileType.Unconfined)
    container_id = await _start(ws, seccomp=profile)
    assert proc_status_field(await sh(ws.cri, container_id, "cat /proc/self/status"), "Seccomp") == "0"


async def test_seccomp_localhost_profile(ws: Workspace, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A Localhost seccomp profile file is applied: a profile denying mkdir makes mkdir fail."""
    import json

    path = tmp_path_factory.mktemp("seccomp") / "deny-mkdir.json"
    profile_text = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}],
    }
    path.write_text(json.dumps(profile_text))
    profile = d.SecurityProfile(profile_type=d.SecurityProfileProfileType.Localhost, localhost_ref=str(path))
    container_id = await _start(ws, seccomp=profile)
    assert await exit_code(ws.cri, container_id, "mkdir /tmp/denied") != 0


def _host_ns(kind: str) -> str:
    return os.readlink(f"/proc/self/ns/{kind}")


async def _container_ns(ws: Workspace, container_id: str, kind: str) -> str:
    return await namespace_of(ws.cri, container_id, kind)


def _pod_linux(**modes: d.NamespaceMode) -> d.LinuxPodSandboxConfig:
    options = d.NamespaceOption(**{"pid": CONTAINER, **modes})  # type: ignore[arg-type]
    return d.LinuxPodSandboxConfig(security_context=d.LinuxSandboxSecurityContext(namespace_options=options))


@pytest.mark.parametrize("kind,field", [("net", "network"), ("pid", "pid"), ("ipc", "ipc")])
async def test_host_namespace(ws: Workspace, kind: str, field: str) -> None:
    """NODE namespace mode shares the host's namespace: hostNetwork/hostPID/hostIPC pods need it."""
    pod = await ws.run_pod(linux=_pod_linux(**{field: NODE}))
    options = d.NamespaceOption(**{"pid": CONTAINER, field: NODE})  # type: ignore[arg-type]
    container_id = await ws.start(pod, linux=security(namespace_options=options))
    assert await _container_ns(ws, container_id, kind) == _host_ns(kind)


@pytest.mark.parametrize("kind", ["net", "pid", "ipc"])
async def test_pod_namespace_not_host(ws: Workspace, kind: str) -> None:
    """Default pods do not share the host's net/pid/ipc namespaces: isolation is the default."""
    container_id = await _start(ws)
    assert await _container_ns(ws, container_id, kind) != _host_ns(kind)


async def test_pod_shares_network_between_containers(ws: Workspace) -> None:
    """Containers of a pod share one network namespace: they talk over localhost."""
    pod = await ws.run_pod()
    first, second = await ws.start(pod, name="one"), await ws.start(pod, name="two")
    assert await _container_ns(ws, first, "net") == await _container_ns(ws, second, "net")


async def test_pod_pid_namespace_shared(ws: Workspace) -> None:
    """pid POD mode shares one pid namespace in the pod: shareProcessNamespace relies on it."""
    pod = await ws.run_pod(linux=_pod_linux(pid=POD))
    shared = security(namespace_options=d.NamespaceOption(pid=POD))
    first = await ws.start(pod, name="one", linux=shared)
    second = await ws.start(pod, name="two", linux=shared)
    assert await _container_ns(ws, first, "pid") == await _container_ns(ws, second, "pid")


async def test_container_pid_namespace_separate(ws: Workspace) -> None:
    """pid CONTAINER mode gives each container its own pid namespace: the kubelet's default."""
    pod = await ws.run_pod()
    first, second = await ws.start(pod, name="one"), await ws.start(pod, name="two")
    assert await _container_ns(ws, first, "pid") != await _container_ns(ws, second, "pid")
