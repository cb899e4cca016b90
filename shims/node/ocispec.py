"""The OCI runtime spec (config.json) of a container, built from CRI configs by pure functions.

Everything that touches the host (resolving symlinks, reading passwd files or seccomp profile files,
reading our own oom_score_adj) happens in the caller, which hands the results in ``SpecInputs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cri import domain as d
from cri.linux_defaults import DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS
from shims.node.identity import ProcessUser
from shims.node.seccomp import Host, runtime_default_profile, wants_runtime_default

OCI_VERSION = "1.0.2"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_CAPABILITIES = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
)
ALL_CAPABILITIES = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)
PROPAGATION_OPTIONS = {
    d.MountPropagation.PROPAGATION_PRIVATE: "rprivate",
    d.MountPropagation.PROPAGATION_HOST_TO_CONTAINER: "rslave",
    d.MountPropagation.PROPAGATION_BIDIRECTIONAL: "rshared",
}
STRONGEST_ROOTFS_PROPAGATION = {"rprivate": 0, "rslave": 1, "rshared": 2}


@dataclass(frozen=True, kw_only=True, slots=True)
class ImageProcess:
    """What the image config says about the process (OCI image config ``config`` section)."""

    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    working_dir: str = ""
    user: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class PodNamespaces:
    """Namespace paths to join; None means a new namespace for the container, "host" the host's."""

    network: str | None
    ipc: str | None
    uts: str | None
    pid: str | None


@dataclass(frozen=True, kw_only=True, slots=True)
class PodFiles:
    """Per-pod host files bind-mounted into every container."""

    resolv_conf: str
    hosts: str
    hostname: str
    shm: str


@dataclass(frozen=True, kw_only=True, slots=True)
class SpecInputs:
    config: d.ContainerConfig
    image: ImageProcess
    user: ProcessUser
    rootfs: str
    hostname: str
    namespaces: PodNamespaces
    pod_files: PodFiles | None
    cgroups_path: str
    oom_score_adj_floor: int
    sysctls: Mapping[str, str] = field(default_factory=dict)
    localhost_seccomp: Mapping[str, Any] | None = None
    host_devices: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    bounding_capabilities: frozenset[str] | None = None
    """The runtime's own bounding set (``CapBnd``): "all capabilities" means these. None: no limit."""
    seccomp_host: Host = field(default_factory=Host.current)
    """The architecture and kernel the RuntimeDefault seccomp profile is computed for."""


HOST = "host"


def build_spec(inputs: SpecInputs) -> dict[str, Any]:
    """The complete config.json for ``inputs``."""
    security = _security(inputs.config)
    return {
        "ociVersion": OCI_VERSION,
        "process": build_process(inputs),
        "root": {"path": inputs.rootfs, "readonly": security.readonly_rootfs},
        "hostname": inputs.hostname if inputs.namespaces.uts is None else "",
        "mounts": build_mounts(inputs),
        "annotations": dict(inputs.config.annotations),
        "linux": build_linux(inputs),
    }


def _security(config: d.ContainerConfig) -> d.LinuxContainerSecurityContext:
    linux = config.linux
    if linux is not None and linux.security_context is not None:
        return linux.security_context
    return d.LinuxContainerSecurityContext()


def _resources(config: d.ContainerConfig) -> d.LinuxContainerResources:
    if config.linux is not None and config.linux.resources is not None:
        return config.linux.resources
    return d.LinuxContainerResources()


def process_args(config: d.ContainerConfig, image: ImageProcess) -> list[str]:
    """Docker's rule: command replaces ENTRYPOINT (and drops CMD); args replace CMD."""
    if config.command:
        return [*config.command, *config.args]
    return [*image.entrypoint, *(config.args or image.cmd)]


def process_env(config: d.ContainerConfig, image: ImageProcess, user: ProcessUser) -> list[str]:
    env: dict[str, str] = {"PATH": DEFAULT_PATH}
    for item in image.env:
        key, _, value = item.partition("=")
        env[key] = value
    for kv in config.envs:
        env[kv.key] = kv.value.decode("utf-8", "surrogateescape")
    env.setdefault("HOME", user.home or "/")
    if config.tty:
        env.setdefault("TERM", "xterm")
    return [f"{k}={v}" for k, v in env.items()]


def capabilities(
    security: d.LinuxContainerSecurityContext, *, bounding: frozenset[str] | None = None
) -> list[str]:
    chosen = _requested_capabilities(security)
    return chosen if bounding is None else [c for c in chosen if c in bounding]


def _requested_capabilities(security: d.LinuxContainerSecurityContext) -> list[str]:
    if security.privileged:
        return list(ALL_CAPABILITIES)
    caps = security.capabilities or d.Capability()
    add = {_cap_name(c) for c in caps.add_capabilities}
    drop = {_cap_name(c) for c in caps.drop_capabilities}
    chosen = list(DEFAULT_CAPABILITIES)
    if "CAP_ALL" in add:
        chosen = list(ALL_CAPABILITIES)
    chosen += sorted(c for c in add if c != "CAP_ALL" and c not in chosen)
    if "CAP_ALL" in drop:
        return sorted(c for c in add if c != "CAP_ALL") if "CAP_ALL" not in add else []
    return [c for c in chosen if c not in drop]


def _cap_name(name: str) -> str:
    upper = name.upper()
    return upper if upper.startswith("CAP_") else f"CAP_{upper}"


def build_process(inputs: SpecInputs) -> dict[str, Any]:
    config, security = inputs.config, _security(inputs.config)
    caps = capabilities(security, bounding=inputs.bounding_capabilities)
    ambient = [_cap_name(c) for c in (security.capabilities or d.Capability()).add_ambient_capabilities]
    resources = _resources(config)
    user: dict[str, Any] = {"uid": inputs.user.uid, "gid": inputs.user.gid}
    if inputs.user.additional_gids:
        user["additionalGids"] = list(inputs.user.additional_gids)
    return {
        "terminal": config.tty,
        "user": user,
        "args": process_args(config, inputs.image),
        "env": process_env(config, inputs.image, inputs.user),
        "cwd": config.working_dir or inputs.image.working_dir or "/",
        "capabilities": {
            "bounding": caps,
            "effective": caps,
            "permitted": caps,
            "inheritable": ambient,
            "ambient": ambient,
        },
        "noNewPrivileges": security.no_new_privs,
        "oomScoreAdj": max(resources.oom_score_adj, inputs.oom_score_adj_floor),
    }


def _pod_file_mounts(files: PodFiles | None, *, readonly_rootfs: bool) -> list[dict[str, Any]]:
    if files is None:
        return []
    mode = "ro" if readonly_rootfs else "rw"
    return [
        {
            "destination": "/etc/resolv.conf",
            "type": "bind",
            "source": files.resolv_conf,
            "options": ["rbind", "rprivate", mode],
        },
        {
            "destination": "/etc/hosts",
            "type": "bind",
            "source": files.hosts,
            "options": ["rbind", "rprivate", mode],
        },
        {
            "destination": "/etc/hostname",
            "type": "bind",
            "source": files.hostname,
            "options": ["rbind", "rprivate", mode],
        },
        {
            "destination": "/dev/shm",
            "type": "bind",
            "source": files.shm,
            "options": ["rbind", "rprivate", "rw"],
        },
    ]


def build_mounts(inputs: SpecInputs) -> list[dict[str, Any]]:
    security = _security(inputs.config)
    sys_mode = "rw" if security.privileged else "ro"
    mounts: list[dict[str, Any]] = [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {
            "destination": "/dev",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
        },
        {
            "destination": "/dev/pts",
            "type": "devpts",
            "source": "devpts",
            "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
        },
        {
            "destination": "/dev/mqueue",
            "type": "mqueue",
            "source": "mqueue",
            "options": ["nosuid", "noexec", "nodev"],
        },
        {
            "destination": "/sys",
            "type": "sysfs",
            "source": "sysfs",
            "options": ["nosuid", "noexec", "nodev", sys_mode],
        },
        {
            "destination": "/sys/fs/cgroup",
            "type": "cgroup",
            "source": "cgroup",
            "options": ["nosuid", "noexec", "nodev", "relatime", sys_mode],
        },
    ]
    if inputs.namespaces.ipc == HOST:
        mounts = [m for m in mounts if m["destination"] != "/dev/mqueue"]
    pod_files = _pod_file_mounts(inputs.pod_files, readonly_rootfs=security.readonly_rootfs)
    user_targets = {m.container_path for m in inputs.config.mounts}
    mounts += [m for m in pod_files if m["destination"] not in user_targets]
    mounts += [_user_mount(m) for m in inputs.config.mounts]
    return mounts


def _user_mount(mount: d.Mount) -> dict[str, Any]:
    options = ["rbind", PROPAGATION_OPTIONS[mount.propagation], "ro" if mount.readonly else "rw"]
    return {
        "destination": mount.container_path,
        "type": "bind",
        "source": mount.host_path,
        "options": options,
    }


def rootfs_propagation(config: d.ContainerConfig) -> str:
    """The rootfs must propagate at least as much as the strongest user mount asks for."""
    chosen = "rprivate"
    for mount in config.mounts:
        wanted = PROPAGATION_OPTIONS[mount.propagation]
        if STRONGEST_ROOTFS_PROPAGATION[wanted] > STRONGEST_ROOTFS_PROPAGATION[chosen]:
            chosen = wanted
    return "rslave" if chosen == "rprivate" else chosen


def build_namespaces(namespaces: PodNamespaces) -> list[dict[str, str]]:
    result: list[dict[str, str]] = [{"type": "mount"}]
    for kind, path in (
        ("network", namespaces.network),
        ("ipc", namespaces.ipc),
        ("uts", namespaces.uts),
        ("pid", namespaces.pid),
    ):
        if path == HOST:
            continue
        result.append({"type": kind, "path": path} if path else {"type": kind})
    return result


def build_resources(resources: d.LinuxContainerResources, *, privileged: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"devices": [{"allow": privileged, "access": "rwm"}]}
    if not privileged:
        out["devices"] += _default_device_rules()
    memory = {"limit": resources.memory_limit_in_bytes} if resources.memory_limit_in_bytes else {}
    if resources.memory_swap_limit_in_bytes:
        memory["swap"] = resources.memory_swap_limit_in_bytes
    if memory:
        out["memory"] = memory
    cpu: dict[str, Any] = {}
    if resources.cpu_shares:
        cpu["shares"] = resources.cpu_shares
    if resources.cpu_quota:
        cpu["quota"] = resources.cpu_quota
    if resources.cpu_period:
        cpu["period"] = resources.cpu_period
    if resources.cpuset_cpus:
        cpu["cpus"] = resources.cpuset_cpus
    if resources.cpuset_mems:
        cpu["mems"] = resources.cpuset_mems
    if cpu:
        out["cpu"] = cpu
    if resources.hugepage_limits:
        out["hugepageLimits"] = [
            {"pageSize": h.page_size, "limit": h.limit} for h in resources.hugepage_limits
        ]
    return out


def _default_device_rules() -> list[dict[str, Any]]:
    """The devices every container may use (runc creates the nodes; the cgroup must allow them)."""
    nodes = ((1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 1), (5, 2), (136, None))
    return [
        {"allow": True, "type": "c", "major": major, "minor": minor, "access": "rwm"}
        if minor is not None
        else {"allow": True, "type": "c", "major": major, "access": "rwm"}
        for major, minor in nodes
    ]


def build_devices(
    devices: tuple[d.Device, ...], host_devices: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """``host_devices`` maps each host path to its ``{"type","major","minor","fileMode","uid","gid"}``."""
    result = []
    for device in devices:
        node = dict(host_devices[device.host_path])
        node["path"] = device.container_path
        result.append(node)
    return result


def build_linux(inputs: SpecInputs) -> dict[str, Any]:
    config, security = inputs.config, _security(inputs.config)
    resources = build_resources(_resources(config), privileged=security.privileged)
    devices = build_devices(config.devices, inputs.host_devices)
    for node in devices:
        resources["devices"].append(
            {
                "allow": True,
                "type": node["type"],
                "major": node["major"],
                "minor": node["minor"],
                "access": "rwm",
            }
        )
    linux: dict[str, Any] = {
        "cgroupsPath": inputs.cgroups_path,
        "namespaces": build_namespaces(inputs.namespaces),
        "resources": resources,
        "rootfsPropagation": rootfs_propagation(config),
        "sysctl": dict(inputs.sysctls),
    }
    if devices:
        linux["devices"] = devices
    if not security.privileged:
        linux["maskedPaths"] = list(security.masked_paths or DEFAULT_MASKED_PATHS)
        linux["readonlyPaths"] = list(security.readonly_paths or DEFAULT_READONLY_PATHS)
        if inputs.localhost_seccomp is not None:
            linux["seccomp"] = dict(inputs.localhost_seccomp)
        elif wants_runtime_default(security.seccomp, security.seccomp_profile_path):
            held = capabilities(security, bounding=inputs.bounding_capabilities)
            linux["seccomp"] = runtime_default_profile(held, host=inputs.seccomp_host)
    return linux


def parse_bounding_set(status_text: str) -> frozenset[str]:
    """The capability names in the ``CapBnd`` line of a ``/proc/<pid>/status`` text."""
    for line in status_text.splitlines():
        if line.startswith("CapBnd:"):
            mask = int(line.split()[1], 16)
            return frozenset(name for bit, name in enumerate(CAPABILITY_BITS) if mask >> bit & 1)
    return frozenset(ALL_CAPABILITIES)


# Capability names by bit number (linux/capability.h).
CAPABILITY_BITS = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)  # fmt: skip


def exec_process(cmd: tuple[str, ...], spec: Mapping[str, Any], *, tty: bool = False) -> dict[str, Any]:
    """The container's process spec with ``cmd`` as args (same user, env, caps, cwd): what an exec runs."""
    process = dict(spec["process"])
    process["args"] = list(cmd)
    process["terminal"] = tty
    return process
