"""Pod sysctls the pod's namespaces can hold (runc's rules, checked before the pod is made)."""

from __future__ import annotations

import pytest

from cri import domain as d
from shims.node.sysctls import refused_sysctl

POD = d.NamespaceOption()
HOST_NET = d.NamespaceOption(network=d.NamespaceMode.NODE)
HOST_IPC = d.NamespaceOption(ipc=d.NamespaceMode.NODE)


@pytest.mark.parametrize(
    "name",
    ["kernel.shm_rmid_forced", "kernel.sem", "fs.mqueue.msg_max", "net.ipv4.ip_unprivileged_port_start",
     "net/ipv4/ip_forward", "kernel.domainname"],
)  # fmt: skip
def test_namespaced_sysctls_of_a_pod_with_its_own_namespaces_are_accepted(name: str) -> None:
    assert refused_sysctl({name: "1"}, POD) is None


@pytest.mark.parametrize(
    ("name", "options", "reason"),
    [
        ("kernel.panic", POD, "not in a separate kernel namespace"),
        ("vm.overcommit_memory", POD, "not in a separate kernel namespace"),
        ("net.ipv4.ip_forward", HOST_NET, "host network namespace"),
        ("net/ipv4/ip_forward", HOST_NET, "host network namespace"),
        ("kernel.domainname", HOST_NET, "host UTS namespace"),
        ("kernel.shm_rmid_forced", HOST_IPC, "host IPC namespace"),
        ("kernel.hostname", POD, "hostname field"),
    ],
)
def test_sysctls_the_pod_cannot_hold_are_refused_by_name(
    name: str, options: d.NamespaceOption, reason: str
) -> None:
    refused = refused_sysctl({name: "1"}, options)
    assert refused is not None and name in refused and reason in refused
