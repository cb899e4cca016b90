"""Seccomp profiles for OCI specs: RuntimeDefault, Unconfined, Localhost (a JSON file's content).

RuntimeDefault is containerd's default profile (``seccomp_default.json`` beside this module): an
allow-list that refuses everything else with EPERM, widened by the container's capabilities the way
containerd widens it (CAP_SYS_ADMIN allows mount/unshare/setns..., CAP_SYS_PTRACE allows
process_vm_readv..., and so on), with clone limited to calls that create no namespace and clone3
answering ENOSYS (so glibc falls back to clone) unless the container holds CAP_SYS_ADMIN.
"""

from __future__ import annotations

import json
import platform
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from cri import domain as d
from cri.errors import InvalidArgument

LOCALHOST_PREFIX = "localhost/"
# What the deprecated seccomp_profile_path string may name besides a localhost/ file.
LEGACY_BUILTIN_PATHS = ("", "unconfined", "runtime/default", "docker/default")
DEFAULT_PROFILE_DATA = "seccomp_default.json"
# What the OCI seccomp section takes from a rule of the data file (the rest says when it applies).
RULE_FIELDS = ("names", "action", "errnoRet", "args")


@dataclass(frozen=True, kw_only=True, slots=True)
class Host:
    """What the default profile depends on besides capabilities: CPU architecture and kernel release."""

    machine: str
    kernel: tuple[int, int]

    @classmethod
    def current(cls) -> Host:
        return cls(machine=platform.machine(), kernel=kernel_version(platform.release()))


def kernel_version(release: str) -> tuple[int, int]:
    """``"6.1.0-18-amd64"`` → ``(6, 1)``; an unparsable release counts as (0, 0)."""
    match = re.match(r"(\d+)\.(\d+)", release)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


@cache
def _default_profile_data() -> Mapping[str, Any]:
    text = resources.files(__package__).joinpath(DEFAULT_PROFILE_DATA).read_text()
    data: Mapping[str, Any] = json.loads(text)
    return data


def runtime_default_profile(capabilities: Iterable[str], *, host: Host | None = None) -> dict[str, Any]:
    """The RuntimeDefault ``linux.seccomp`` section for a container holding ``capabilities``."""
    data = _default_profile_data()
    host = host or Host.current()
    held = frozenset(capabilities)
    return {
        "defaultAction": data["defaultAction"],
        "defaultErrnoRet": data["defaultErrnoRet"],
        "architectures": list(data["architectures"].get(host.machine, [])),
        "syscalls": [
            {key: rule[key] for key in RULE_FIELDS if key in rule}
            for rule in data["syscalls"]
            if _applies(rule, held=held, host=host)
        ],
    }


def _applies(rule: Mapping[str, Any], *, held: frozenset[str], host: Host) -> bool:
    includes: Mapping[str, Any] = rule.get("includes", {})
    excludes: Mapping[str, Any] = rule.get("excludes", {})
    if not held.issuperset(includes.get("caps", ())):
        return False
    if "arches" in includes and host.machine not in includes["arches"]:
        return False
    if "minKernel" in includes and host.kernel < kernel_version(includes["minKernel"]):
        return False
    return held.isdisjoint(excludes.get("caps", ()))


def localhost_profile_path(profile: d.SecurityProfile | None, legacy_path: str) -> str | None:
    """The host file a Localhost profile names, or None when the profile is not Localhost."""
    if profile is not None and profile.profile_type == d.SecurityProfileProfileType.Localhost:
        if not profile.localhost_ref:
            raise InvalidArgument("seccomp profile type Localhost needs localhost_ref")
        return _absolute(profile.localhost_ref.removeprefix(LOCALHOST_PREFIX))
    if profile is not None or legacy_path in LEGACY_BUILTIN_PATHS:
        return None
    if legacy_path.startswith(LOCALHOST_PREFIX):
        return _absolute(legacy_path.removeprefix(LOCALHOST_PREFIX))
    raise InvalidArgument(
        f"seccomp_profile_path {legacy_path!r} is not supported: use unconfined, runtime/default,"
        f" docker/default or {LOCALHOST_PREFIX}<absolute path>"
    )


def _absolute(path: str) -> str:
    if not path.startswith("/"):
        raise InvalidArgument(f"seccomp Localhost profile {path!r} must be an absolute path on the node")
    return path


def wants_runtime_default(profile: d.SecurityProfile | None, legacy_path: str) -> bool:
    if profile is not None:
        return profile.profile_type == d.SecurityProfileProfileType.RuntimeDefault
    return legacy_path in ("runtime/default", "docker/default")
