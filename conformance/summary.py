"""The end of a conformance run: outcomes by area, then the line ``N passed, N failed, N skipped``."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pytest

COLUMNS = ("passed", "failed", "skipped", "deviation")


def area_of(nodeid: str) -> str:
    """``.../check_sandbox.py::test_x`` → ``sandbox``."""
    module = nodeid.split("::")[0].rsplit("/", 1)[-1]
    return module.removeprefix("check_").removesuffix(".py")


def outcome_of(report: pytest.TestReport) -> str | None:
    """The check's outcome from one of its reports, or None while it is not decided yet."""
    if hasattr(report, "wasxfail"):
        return "deviation" if report.skipped else "passed"
    if report.failed:
        return "failed"
    if report.skipped:
        return "skipped"
    return "passed" if report.when == "call" else None


def skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


@dataclass
class Tally:
    outcomes: dict[str, str] = field(default_factory=dict)
    deviation_reasons: dict[str, str] = field(default_factory=dict)
    skip_reasons: dict[str, str] = field(default_factory=dict)
    policy: list[str] = field(default_factory=list)  # the profile's description
    policy_problems: list[str] = field(default_factory=list)
    stale_deviations: list[str] = field(default_factory=list)
    leftovers: int = 0
    cleanup_problems: list[str] = field(default_factory=list)

    def record(self, report: pytest.TestReport) -> None:
        outcome = outcome_of(report)
        if outcome is None:
            return
        if self.outcomes.get(report.nodeid) == "failed":
            return  # a teardown report must not hide a failed call
        self.outcomes[report.nodeid] = outcome
        if outcome == "skipped":
            self.skip_reasons[report.nodeid] = skip_reason(report)
        if hasattr(report, "wasxfail"):
            if outcome == "deviation":
                self.deviation_reasons[report.nodeid] = str(report.wasxfail)
            else:
                self.stale_deviations.append(report.nodeid)

    def by_area(self) -> dict[str, Counter[str]]:
        areas: dict[str, Counter[str]] = defaultdict(Counter)
        for nodeid, outcome in self.outcomes.items():
            areas[area_of(nodeid)][outcome] += 1
        return dict(sorted(areas.items()))

    def totals(self) -> Counter[str]:
        return Counter(self.outcomes.values())

    def render(self, runtime: str) -> list[str]:
        lines = [f"CRI conformance: {runtime}", ""]
        lines.append(f"{'AREA':<14}" + "".join(f"{name.upper():>11}" for name in COLUMNS))
        for area, counts in self.by_area().items():
            lines.append(f"{area:<14}" + "".join(f"{counts[name]:>11}" for name in COLUMNS))
        totals = self.totals()
        lines.append(f"{'TOTAL':<14}" + "".join(f"{totals[name]:>11}" for name in COLUMNS))
        for nodeid, reason in sorted(self.deviation_reasons.items()):
            lines.append(f"deviation {nodeid.split('::')[-1]}: {reason}")
        for nodeid in self.stale_deviations:
            lines.append(f"intermittent deviation did not occur this run: {nodeid}")
        if self.leftovers:
            lines.append(f"FAILED: cleanup: the final sweep removed {self.leftovers} object(s) checks left")
        lines.extend(f"FAILED: cleanup problem: {problem}" for problem in self.cleanup_problems)
        lines.extend(self.policy)
        lines.extend(f"FAILED: {problem}" for problem in self.policy_problems)
        skipped = totals["skipped"] + totals["deviation"]
        if totals["deviation"]:
            lines.append(f"(skipped includes {totals['deviation']} known runtime deviations, listed above)")
        lines.append(f"{totals['passed']} passed, {totals['failed']} failed, {skipped} skipped")
        return lines
