"""Seccomp profiles for OCI specs: RuntimeDefault, Unconfined, Localhost (a JSON file's content)."""

from __future__ import annotations

from typing import Any

from cri import domain as d
from cri.errors import InvalidArgument

# Syscalls RuntimeDefault refuses (EPERM): the ones Docker's and containerd's default profiles leave
# out for unprivileged containers. Everything else is allowed.
RUNTIME_DEFAULT_DENIED = (
    "acct",
    "add_key",
    "bpf",
    "clock_adjtime",
    "clock_settime",
    "create_module",
    "delete_module",
    "finit_module",
    "get_kernel_syms",
    "get_mempolicy",
    "init_module",
    "ioperm",
    "iopl",
    "kcmp",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "lookup_dcookie",
    "mbind",
    "mount",
    "move_pages",
    "name_to_handle_at",
    "nfsservctl",
    "open_by_handle_at",
    "perf_event_open",
    "pivot_root",
    "process_vm_readv",
    "process_vm_writev",
    "ptrace",
    "query_module",
    "quotactl",
    "reboot",
    "request_key",
    "set_mempolicy",
    "setns",
    "settimeofday",
    "swapoff",
    "swapon",
    "sysfs",
    "umount",
    "umount2",
    "unshare",
    "uselib",
    "userfaultfd",
    "ustat",
)
EPERM = 1
LOCALHOST_PREFIX = "localhost/"


def runtime_default_profile() -> dict[str, Any]:
    return {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": list(RUNTIME_DEFAULT_DENIED), "action": "SCMP_ACT_ERRNO", "errnoRet": EPERM}],
    }


def localhost_profile_path(profile: d.SecurityProfile | None, legacy_path: str) -> str | None:
    """The host file a Localhost profile names, or None when the profile is not Localhost."""
    if profile is not None and profile.profile_type == d.SecurityProfileProfileType.Localhost:
        if not profile.localhost_ref:
            raise InvalidArgument("seccomp profile type Localhost needs localhost_ref")
        return profile.localhost_ref.removeprefix(LOCALHOST_PREFIX)
    if profile is None and legacy_path.startswith(LOCALHOST_PREFIX):
        return legacy_path.removeprefix(LOCALHOST_PREFIX)
    return None


def wants_runtime_default(profile: d.SecurityProfile | None, legacy_path: str) -> bool:
    if profile is not None:
        return profile.profile_type == d.SecurityProfileProfileType.RuntimeDefault
    return legacy_path in ("runtime/default", "docker/default")
