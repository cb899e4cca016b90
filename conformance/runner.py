"""``tinykube conformance``: the options users type, turned into one ``pytest.main`` run of the checks."""

from __future__ import annotations

import argparse
import importlib.util
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance import images, policy

PACKAGE = Path(__file__).resolve().parent
CHECKS = PACKAGE / "checks"
INI = PACKAGE / "suite.ini"


@dataclass(frozen=True, kw_only=True, slots=True)
class RunOptions:
    endpoint: str
    image_endpoint: str | None = None
    focus: str | None = None
    skip: str | None = None
    junit: str | None = None
    parallel: int = 1
    verbose: bool = False
    timeout: float = 60.0
    profile: str | None = None
    require_capabilities: str | None = None
    extra: tuple[str, ...] = ()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tinykube conformance", description="Check a CRI runtime against what the kubelet expects."
    )
    p.add_argument("--endpoint", required=True, help="CRI endpoint: unix:///path or tcp://host:port")
    p.add_argument("--image-endpoint", help="image service endpoint (default: --endpoint)")
    p.add_argument("--focus", help="run only checks whose id matches this regex")
    p.add_argument("--skip", help="skip checks whose id matches this regex")
    p.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")
    p.add_argument("--parallel", type=int, default=1, metavar="N", help="run checks in N processes")
    p.add_argument("--timeout", type=float, default=60.0, help="per-RPC timeout in seconds (default 60)")
    p.add_argument(
        "--registry-mirror",
        metavar="HOST:PORT",
        help="the local registry holding the test images: print how to point the runtime's mirrors at it",
    )
    p.add_argument(
        "--seed",
        action="store_true",
        help="first push the test images into the --registry-mirror registry (starting it if needed)",
    )
    p.add_argument(
        "--profile",
        choices=sorted(policy.PROFILES),
        help="a known runtime: fail when it lacks a capability it must have or skips outside its allow-list",
    )
    p.add_argument(
        "--require-capabilities",
        metavar="CAP,...",
        help=f"fail unless the runtime serves these ({', '.join(policy.CAPABILITIES)}) and skips no check",
    )
    p.add_argument("--compare", metavar="URL2", help="differential mode: run lifecycle scenarios on both")
    p.add_argument("-v", "--verbose", action="store_true", help="one line per check")
    return p


def pytest_args(options: RunOptions) -> list[str]:
    args = [
        "-c", str(INI), "--rootdir", str(CHECKS), "-p", "conformance.plugin",
        "--cri-endpoint", options.endpoint, "--cri-timeout", str(options.timeout),
        "--cri-run-id", uuid.uuid4().hex[:12], "-rfE", "--tb=short",
    ]  # fmt: skip
    if options.image_endpoint:
        args += ["--cri-image-endpoint", options.image_endpoint]
    if options.focus:
        args += ["--cri-focus", options.focus]
    if options.skip:
        args += ["--cri-skip", options.skip]
    if options.junit:
        args += ["--junitxml", options.junit]
    if options.profile:
        args += ["--cri-profile", options.profile]
    if options.require_capabilities is not None:
        args += ["--cri-require-capabilities", options.require_capabilities]
    if options.parallel > 1:
        args += ["-p", "xdist", "-n", str(options.parallel), "--dist", "loadfile"]
    args += ["-v"] if options.verbose else ["-q"]
    return [*args, *options.extra, str(CHECKS)]


def run(options: RunOptions) -> int:
    if options.parallel > 1 and importlib.util.find_spec("xdist") is None:
        print(
            "tinykube conformance: --parallel needs pytest-xdist (pip install pytest-xdist)", file=sys.stderr
        )
        return 2
    exit_code = pytest.main(pytest_args(options))
    return int(exit_code)


Seeder = Callable[[str], int]


def main(argv: list[str], *, seeder: Seeder | None = None) -> int:
    """Run the suite; ``seeder(host_port)`` pushes the test images when ``--seed`` asks for it."""
    ns = parser().parse_args(argv)
    if ns.seed:
        if not ns.registry_mirror or seeder is None:
            print("tinykube conformance: --seed needs --registry-mirror HOST:PORT", file=sys.stderr)
            return 2
        if seeder(ns.registry_mirror) != 0:
            return 1
    if ns.registry_mirror:
        print(images.mirror_instructions(ns.registry_mirror))
    if ns.compare:
        from conformance.compare import compare_main

        return compare_main(ns.endpoint, ns.compare, timeout=ns.timeout)
    options = RunOptions(
        endpoint=ns.endpoint,
        image_endpoint=ns.image_endpoint,
        focus=ns.focus,
        skip=ns.skip,
        junit=ns.junit,
        parallel=ns.parallel,
        verbose=ns.verbose,
        timeout=ns.timeout,
        profile=ns.profile,
        require_capabilities=ns.require_capabilities,
    )
    return run(options)
