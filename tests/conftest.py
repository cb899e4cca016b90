"""Shared markers for the whole test tree.

Integration tests (``@pytest.mark.integration``) need root; they skip with that reason when not
root. One that needs a service started by ``.ci/services.sh`` says so with
``@pytest.mark.needs_host("containerd", "registry", ...)`` and skips, naming the service and how
to start it, when that service does not answer. A name that is not a service is an executable
that must be on PATH (``@pytest.mark.needs_host("etcd")``). CI sets TINYKUBE_REQUIRE_SERVICES=1
so that a missing service fails the test instead: a green CI run never hides skipped tests, and
any other skip outside ``tests.skipgate``'s allow-list of host limits fails the run.
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
from collections.abc import Generator
from dataclasses import dataclass

import pytest

pytest_plugins = ["tests.skipgate"]
CONNECT_TIMEOUT_S = 1.0
START_HINT = "start it with `.ci/services.sh start` (as root)"


@dataclass(frozen=True, kw_only=True)
class Service:
    description: str
    unix_socket: str | None = None
    tcp_address: tuple[str, int] | None = None


SERVICES = {
    "containerd": Service(
        description="containerd with its CRI plugin", unix_socket="/run/containerd/containerd.sock"
    ),
    "podman": Service(description="the Podman API service", unix_socket="/run/podman/podman.sock"),
    "registry": Service(description="the local OCI registry", tcp_address=("127.0.0.1", 5000)),
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "needs_host(*names): services (containerd, podman, registry) or executables a test needs",
    )


@functools.cache
def _answers(name: str) -> bool:
    service = SERVICES[name]
    try:
        if service.unix_socket is not None:
            with socket.socket(socket.AF_UNIX) as connection:
                connection.settimeout(CONNECT_TIMEOUT_S)
                connection.connect(service.unix_socket)
        elif service.tcp_address is not None:
            socket.create_connection(service.tcp_address, timeout=CONNECT_TIMEOUT_S).close()
    except OSError:
        return False
    return True


def _missing_reason(name: str) -> str | None:
    if name in SERVICES:
        if _answers(name):
            return None
        return f"{SERVICES[name].description} ({name}) is not running: {START_HINT}"
    if shutil.which(name) is None:
        return f"the executable {name!r} is not on PATH: run `.ci/setup.sh` (as root)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("integration") is None:
        return
    if os.geteuid() != 0:
        reasons = ["integration tests drive real engines and need root"]
    else:
        needed = [name for marker in item.iter_markers("needs_host") for name in marker.args]
        reasons = [reason for name in needed if (reason := _missing_reason(name)) is not None]
    if not reasons:
        return
    if os.environ.get("TINYKUBE_REQUIRE_SERVICES") == "1":
        pytest.fail("; ".join(reasons), pytrace=False)
    pytest.skip("; ".join(reasons))


# A mount left under pytest's temporary directories makes every later pytest run on the machine
# fail while it removes old directories (EBUSY). Integration tests are checked for leaked mounts:
# a leak fails the test that left it, naming the mounts, and is detached so later runs survive.
# Only this session's directory is watched: another session's mounts (a run of another worktree at
# the same time) are not this test's, and detaching them would break that run.


def _pytest_tmp_mounts(config: pytest.Config) -> set[str]:
    base = f"{config._tmp_path_factory.getbasetemp()}/"  # type: ignore[attr-defined]
    with open("/proc/self/mounts", encoding="utf-8") as mounts:
        points = (line.split()[1] for line in mounts)
        decoded = (point.encode().decode("unicode_escape") for point in points)
        return {point for point in decoded if point.startswith(base)}


_MOUNTS_BEFORE = pytest.StashKey[set[str]]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    if item.get_closest_marker("integration") is not None and os.geteuid() == 0:
        item.stash[_MOUNTS_BEFORE] = _pytest_tmp_mounts(item.config)


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    yield
    before = item.stash.get(_MOUNTS_BEFORE, None)
    if before is None:
        return
    leaked = sorted(_pytest_tmp_mounts(item.config) - before, reverse=True)
    for point in leaked:
        subprocess.run(["umount", "--lazy", point], check=False)
    if leaked:
        pytest.fail(f"the test left {len(leaked)} mount(s) behind: {', '.join(leaked)}")
