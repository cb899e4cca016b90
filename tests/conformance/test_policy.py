"""A profile fails a run on a missing required capability, a stray skip, or a changed pinned count."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance import policy, runner
from tests.conformance.harness import ServedFake, healthy, run_suite

RUNC = policy.PROFILES["runc"]
ALL = frozenset(policy.CAPABILITIES)


def test_a_required_capability_the_runtime_lacks_is_a_problem() -> None:
    problems = policy.verdict(RUNC, ALL - {"processes"}, {}, whole_suite=True)
    assert problems == ["required capability missing: processes (profile runc)"]


def test_a_skip_outside_the_allow_list_is_a_problem() -> None:
    skips = {"check_mounts.py::test_x": "runtime cannot serve: processes"}
    problems = policy.verdict(RUNC, ALL, skips, whole_suite=True)
    assert problems == [
        "skip not allowed by profile runc: check_mounts.py::test_x: runtime cannot serve: processes"
    ]


def test_a_host_limit_on_the_allow_list_may_skip_only_the_checks_it_names() -> None:
    apparmor = policy.AllowedSkip(checks=r"check_security\.py::test_apparmor", reason="no AppArmor")
    profile = policy.Profile(name="host", required=ALL, lacks={}, allowed_skips=(apparmor,))
    allowed = {"check_security.py::test_apparmor_default": "the host has no AppArmor"}
    elsewhere = {"check_security.py::test_seccomp": "the host has no AppArmor"}
    assert policy.verdict(profile, ALL, allowed, whole_suite=True) == []
    assert len(policy.verdict(profile, ALL, elsewhere, whole_suite=True)) == 1
    assert "allowed skip check_security\\.py::test_apparmor: no AppArmor" in "\n".join(profile.describe())


def test_the_pinned_skip_count_holds_for_the_whole_suite_only() -> None:
    fake = policy.PROFILES["fake"]
    skips = {"check_exec.py::test_x": "runtime cannot serve: processes"}
    assert policy.verdict(fake, frozenset({"network"}), skips, whole_suite=False) == []
    assert policy.verdict(fake, frozenset({"network"}), skips, whole_suite=True) == [
        f"1 checks skipped, profile fake pins {fake.skip_count}"
    ]


def test_require_capabilities_refuses_unknown_names() -> None:
    with pytest.raises(ValueError, match="unknown capabilities procs"):
        policy.requiring(frozenset({"procs"}))


def test_the_runc_profile_on_the_fake_fails_the_checks_instead_of_skipping_them(
    serve: Callable[..., ServedFake], capsys: pytest.CaptureFixture[str]
) -> None:
    fake = serve(healthy)
    code = runner.main(["--endpoint", fake.endpoint, "--profile", "runc", "--focus", "check_exec"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAILED: required capability missing: processes (profile runc)" in out
    assert "0 passed, 16 failed, 0 skipped" in out


def test_require_capabilities_the_fake_has_passes_with_its_skips_listed(
    serve: Callable[..., ServedFake], capsys: pytest.CaptureFixture[str]
) -> None:
    fake = serve(healthy)
    focus = ["--focus", "check_(exec|runtime)"]
    argv = ["--endpoint", fake.endpoint, "--require-capabilities", "network", *focus]
    assert runner.main(argv) == 0
    out = capsys.readouterr().out
    assert "lacks processes: not required" in out and "16 skipped" in out


def test_the_fake_profile_pins_the_whole_suites_skips(serve: Callable[..., ServedFake]) -> None:
    fake = serve(healthy)
    result = run_suite(fake.endpoint, focus="", profile="fake")
    skipped = sum(1 for outcome in result.outcomes.values() if outcome == "skipped")
    assert result.exit_code == 0 and skipped == policy.PROFILES["fake"].skip_count
