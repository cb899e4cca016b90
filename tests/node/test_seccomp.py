"""RuntimeDefault seccomp: containerd's allow-list, widened by the container's capabilities.

``outcome`` evaluates a profile the way the kernel filter runc builds from it decides one call.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cri import domain as d
from cri.errors import InvalidArgument
from shims.node.identity import ProcessUser
from shims.node.ocispec import (
    ALL_CAPABILITIES,
    DEFAULT_CAPABILITIES,
    ImageProcess,
    PodNamespaces,
    SpecInputs,
    build_spec,
)
from shims.node.seccomp import Host, kernel_version, localhost_profile_path, runtime_default_profile

EPERM, ENOSYS = 1, 38
ALLOW = "allow"
X86_64 = Host(machine="x86_64", kernel=(6, 1))
CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000
# pthread_create: CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
PTHREAD_CREATE_FLAGS = 0x3D0F00
ADDR_NO_RANDOMIZE, PER_LINUX32 = 0x0040000, 0x0008
RuntimeDefault = d.SecurityProfileProfileType.RuntimeDefault


def _arg_matches(arg: dict[str, Any], args: tuple[int, ...]) -> bool:
    value = args[arg["index"]] if arg["index"] < len(args) else 0
    if arg["op"] == "SCMP_CMP_EQ":
        return bool(value == arg["value"])
    if arg["op"] == "SCMP_CMP_MASKED_EQ":
        return bool(value & arg["value"] == arg["valueTwo"])
    raise AssertionError(f"operator {arg['op']} is not modelled")


def outcome(profile: dict[str, Any], syscall: str, *args: int) -> str | int:
    """``"allow"`` or the errno the call fails with."""
    for rule in profile["syscalls"]:
        if syscall in rule["names"] and all(_arg_matches(a, args) for a in rule.get("args", ())):
            if rule["action"] == "SCMP_ACT_ALLOW":
                return ALLOW
            assert rule["action"] == "SCMP_ACT_ERRNO"
            errno: int = rule.get("errnoRet", profile["defaultErrnoRet"])
            return errno
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
    default: int = profile["defaultErrnoRet"]
    return default


def profile_for(caps: Iterable[str] = DEFAULT_CAPABILITIES, host: Host = X86_64) -> dict[str, Any]:
    return runtime_default_profile(caps, host=host)


EVERYDAY = ("read", "write", "openat", "execve", "socket", "connect", "accept4", "epoll_wait", "fork",
            "wait4", "mmap", "futex", "getdents64", "statx", "chroot", "setuid", "kill", "io_uring_setup",
            "arch_prctl", "ptrace")  # fmt: skip
PRIVILEGED_ONLY = ("mount", "umount2", "unshare", "setns", "sethostname", "bpf", "perf_event_open", "reboot",
                   "init_module", "acct", "settimeofday", "clock_settime", "syslog", "process_vm_readv",
                   "open_by_handle_at", "iopl", "vhangup", "quotactl", "fsopen", "move_mount")  # fmt: skip
NEVER_LISTED = ("keyctl", "add_key", "request_key", "userfaultfd", "kexec_load", "swapon", "pivot_root",
                "uselib", "mbind", "set_mempolicy", "pkey_alloc", "lookup_dcookie_typo")  # fmt: skip


@pytest.mark.parametrize("syscall", EVERYDAY)
def test_everyday_syscalls_are_allowed_with_default_capabilities(syscall: str) -> None:
    assert outcome(profile_for(), syscall) == ALLOW


@pytest.mark.parametrize("syscall", PRIVILEGED_ONLY + NEVER_LISTED)
def test_anything_outside_the_allow_list_fails_with_eperm(syscall: str) -> None:
    assert outcome(profile_for(), syscall) == EPERM


@pytest.mark.parametrize("syscall", NEVER_LISTED)
def test_even_all_capabilities_do_not_allow_what_containerd_never_lists(syscall: str) -> None:
    assert outcome(profile_for(ALL_CAPABILITIES), syscall) == EPERM


def test_clone_may_create_threads_and_processes_but_no_namespace_without_sys_admin() -> None:
    profile = profile_for()
    assert outcome(profile, "clone", PTHREAD_CREATE_FLAGS) == ALLOW
    assert outcome(profile, "clone", 0x11) == ALLOW  # fork(): SIGCHLD
    assert outcome(profile, "clone", CLONE_NEWUSER) == EPERM
    assert outcome(profile, "clone", CLONE_NEWNET | 0x11) == EPERM


def test_clone3_answers_enosys_so_libc_falls_back_to_clone() -> None:
    assert outcome(profile_for(), "clone3") == ENOSYS
    assert outcome(profile_for([*DEFAULT_CAPABILITIES, "CAP_SYS_ADMIN"]), "clone3") == ALLOW


def test_sys_admin_allows_mounts_namespaces_and_namespaced_clone() -> None:
    profile = profile_for([*DEFAULT_CAPABILITIES, "CAP_SYS_ADMIN"])
    for syscall in ("mount", "umount2", "unshare", "setns", "sethostname", "fsopen", "syslog"):
        assert outcome(profile, syscall) == ALLOW, syscall
    assert outcome(profile, "clone", CLONE_NEWUSER | CLONE_NEWNET) == ALLOW


@pytest.mark.parametrize(
    ("capability", "syscall"),
    [
        ("CAP_SYS_PTRACE", "process_vm_readv"),
        ("CAP_SYS_PTRACE", "kcmp"),
        ("CAP_SYS_TIME", "settimeofday"),
        ("CAP_SYS_TIME", "clock_settime"),
        ("CAP_SYS_MODULE", "finit_module"),
        ("CAP_SYS_BOOT", "reboot"),
        ("CAP_SYS_PACCT", "acct"),
        ("CAP_SYS_RAWIO", "ioperm"),
        ("CAP_SYS_TTY_CONFIG", "vhangup"),
        ("CAP_SYSLOG", "syslog"),
        ("CAP_BPF", "bpf"),
        ("CAP_PERFMON", "perf_event_open"),
        ("CAP_DAC_READ_SEARCH", "open_by_handle_at"),
        ("CAP_SYS_CHROOT", "chroot"),
    ],
)
def test_a_capability_allows_exactly_its_syscalls(capability: str, syscall: str) -> None:
    without = [c for c in DEFAULT_CAPABILITIES if c != capability]
    assert outcome(profile_for(without), syscall) == EPERM
    assert outcome(profile_for([*without, capability]), syscall) == ALLOW


@given(st.sets(st.sampled_from(ALL_CAPABILITIES)), st.sets(st.sampled_from(ALL_CAPABILITIES)))
def test_more_capabilities_never_deny_a_call_fewer_allowed(base: set[str], extra: set[str]) -> None:
    fewer, more = profile_for(base), profile_for(base | extra)
    for syscall in {name for rule in more["syscalls"] for name in rule["names"]} | set(NEVER_LISTED):
        for flags in (0, CLONE_NEWUSER):
            if outcome(fewer, syscall, flags) == ALLOW:
                assert outcome(more, syscall, flags) == ALLOW, (syscall, flags)


def test_personality_allows_only_the_harmless_personas() -> None:
    profile = profile_for()
    for persona in (0, PER_LINUX32, 0xFFFFFFFF):
        assert outcome(profile, "personality", persona) == ALLOW
    assert outcome(profile, "personality", ADDR_NO_RANDOMIZE) == EPERM


def test_architectures_and_arch_specific_calls_follow_the_host() -> None:
    assert profile_for()["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    arm = profile_for(host=Host(machine="aarch64", kernel=(6, 1)))
    assert arm["architectures"] == ["SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64"]
    assert outcome(arm, "arch_prctl") == EPERM and outcome(arm, "set_tls") == ALLOW
    assert profile_for(host=Host(machine="sparc64", kernel=(6, 1)))["architectures"] == []


def test_ptrace_needs_kernel_4_8_without_cap_sys_ptrace() -> None:
    assert outcome(profile_for(host=Host(machine="x86_64", kernel=(4, 4))), "ptrace") == EPERM
    assert outcome(profile_for(host=Host(machine="x86_64", kernel=(4, 8))), "ptrace") == ALLOW


def test_kernel_version_of_release_strings() -> None:
    assert kernel_version("6.18.44-fc-v657") == (6, 18)
    assert kernel_version("4.8.0") == (4, 8)
    assert kernel_version("garbage") == (0, 0)


def container_spec(**security: Any) -> dict[str, Any]:
    config = d.ContainerConfig(
        metadata=d.ContainerMetadata(name="app"),
        linux=d.LinuxContainerConfig(security_context=d.LinuxContainerSecurityContext(**security)),
    )
    return build_spec(
        SpecInputs(
            config=config,
            image=ImageProcess(cmd=("sh",)),
            user=ProcessUser(uid=0, gid=0),
            rootfs="/rootfs",
            hostname="pod",
            namespaces=PodNamespaces(network=None, ipc=None, uts=None, pid=None),
            pod_files=None,
            cgroups_path="/pod/c",
            oom_score_adj_floor=0,
            seccomp_host=X86_64,
        )
    )


def test_the_spec_profile_follows_the_containers_capabilities() -> None:
    runtime_default = d.SecurityProfile(profile_type=RuntimeDefault)
    plain = container_spec(seccomp=runtime_default)["linux"]["seccomp"]
    admin = container_spec(
        seccomp=runtime_default, capabilities=d.Capability(add_capabilities=("SYS_ADMIN",))
    )["linux"]["seccomp"]
    no_chroot = container_spec(
        seccomp=runtime_default, capabilities=d.Capability(drop_capabilities=("ALL",))
    )["linux"]["seccomp"]
    assert outcome(plain, "mount") == EPERM and outcome(admin, "mount") == ALLOW
    assert outcome(plain, "chroot") == ALLOW and outcome(no_chroot, "chroot") == EPERM


def test_legacy_runtime_default_path_gives_the_profile_and_unconfined_none() -> None:
    legacy = container_spec(seccomp_profile_path="runtime/default")["linux"]["seccomp"]
    assert outcome(legacy, "mount") == EPERM
    unconfined = d.SecurityProfile(profile_type=d.SecurityProfileProfileType.Unconfined)
    assert "seccomp" not in container_spec(seccomp=unconfined)["linux"]
    assert "seccomp" not in container_spec()["linux"]
    privileged = container_spec(privileged=True, seccomp=d.SecurityProfile(profile_type=RuntimeDefault))
    assert "seccomp" not in privileged["linux"]


def test_localhost_profiles_name_an_absolute_host_file() -> None:
    localhost = d.SecurityProfileProfileType.Localhost
    profile = d.SecurityProfile(profile_type=localhost, localhost_ref="/var/lib/kubelet/seccomp/a.json")
    assert localhost_profile_path(profile, "") == "/var/lib/kubelet/seccomp/a.json"
    assert localhost_profile_path(None, "localhost//etc/p.json") == "/etc/p.json"
    assert localhost_profile_path(d.SecurityProfile(profile_type=RuntimeDefault), "") is None
    with pytest.raises(InvalidArgument, match="absolute"):
        localhost_profile_path(d.SecurityProfile(profile_type=localhost, localhost_ref="profiles/a.json"), "")
    with pytest.raises(InvalidArgument, match="localhost_ref"):
        localhost_profile_path(d.SecurityProfile(profile_type=localhost), "")


@pytest.mark.parametrize("legacy", ["", "unconfined", "runtime/default", "docker/default"])
def test_builtin_legacy_profile_paths_name_no_file(legacy: str) -> None:
    assert localhost_profile_path(None, legacy) is None


def test_a_legacy_profile_path_without_localhost_prefix_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="is not supported"):
        localhost_profile_path(None, "/etc/p.json")
