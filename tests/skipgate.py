"""In CI (TINYKUBE_REQUIRE_SERVICES=1) a skipped test fails the run unless the allow-list names it.

The allow-list holds limits of the host only, each with the reason; the run's summary prints it.
"""

from __future__ import annotations

import os

import pytest

from conformance.summary import skip_reason

# (text of the skip reason, why that is a limit of the host and not of the code)
ALLOWED_SKIPS = (
    ("has no TOPDIR flag", "the filesystem under pytest's tmp dir does not support ext4's TOPDIR attribute"),
)
GATE_KEY = pytest.StashKey["SkipGate"]()


class SkipGate:
    def __init__(self) -> None:
        self.stray: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not report.skipped or hasattr(report, "wasxfail"):
            return
        reason = skip_reason(report)
        if not any(allowed in reason for allowed, _ in ALLOWED_SKIPS):
            self.stray.append(f"{report.nodeid}: {reason}")


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("TINYKUBE_REQUIRE_SERVICES") == "1":
        config.stash[GATE_KEY] = gate = SkipGate()
        config.pluginmanager.register(gate, "tinykube-skip-gate")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    gate = session.config.stash.get(GATE_KEY, None)
    if gate is not None and gate.stray and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    gate = config.stash.get(GATE_KEY, None)
    if gate is None:
        return
    terminalreporter.write_line("skips allowed in CI (host limits):")
    for allowed, why in ALLOWED_SKIPS:
        terminalreporter.write_line(f"  {allowed!r}: {why}")
    for stray in gate.stray:
        terminalreporter.write_line(f"FAILED: skipped outside the allow-list: {stray}")
