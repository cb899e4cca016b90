"""Which pod sysctls a pod's namespaces can hold: runc refuses the others at create time.

The rules are runc's (libcontainer's config validator), checked when the pod is made so that a pod
asking for a node-wide sysctl fails RunPodSandbox, as containerd's does, not every container later.
"""

from __future__ import annotations

from collections.abc import Mapping

from cri import domain as d

NODE = d.NamespaceMode.NODE
IPC_SYSCTLS = frozenset(
    {
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    }
)


def refused_sysctl(sysctls: Mapping[str, str], options: d.NamespaceOption) -> str | None:
    """Why the first sysctl the pod cannot have is refused, or None when all are namespaced."""
    for name in sysctls:
        problem = _problem(name, options)
        if problem is not None:
            return f"sysctl {name!r} {problem}"
    return None


def _problem(name: str, options: d.NamespaceOption) -> str | None:
    name = name.replace("/", ".")  # the kubelet also accepts net/ipv4/ip_forward
    if name in IPC_SYSCTLS or name.startswith("fs.mqueue."):
        return "is not allowed with the host IPC namespace" if options.ipc == NODE else None
    if name.startswith("net."):
        return "is not allowed with the host network namespace" if options.network == NODE else None
    if name == "kernel.domainname":
        return "is not allowed with the host UTS namespace" if options.network == NODE else None
    if name == "kernel.hostname":
        return "cannot be set: the pod's hostname field sets it"
    return "is not in a separate kernel namespace: it would change the node"
