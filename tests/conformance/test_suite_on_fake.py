"""The suite on the healthy fake: every check it can serve passes, the rest skip as its profile says."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from conformance.policy import PROFILES
from cri.errors import Internal
from tests.conformance.harness import ServedFake, healthy, run_suite

SKIPS = PROFILES["fake"].skip_count or 0


def test_healthy_fake_passes_everything_it_can_serve(serve: Callable[..., ServedFake]) -> None:
    fake = serve(healthy)
    result = run_suite(fake.endpoint, focus="", profile="fake")
    counts = Counter(result.outcomes.values())
    assert result.exit_code == 0
    assert counts == {"passed": len(result.outcomes) - SKIPS, "skipped": SKIPS}


def test_suite_cleans_up_what_it_created(serve: Callable[..., ServedFake]) -> None:
    fake = serve(healthy)
    result = run_suite(fake.endpoint, focus="check_(sandbox|container)")
    created = fake.runtime.faults.count()
    assert created["run_pod_sandbox"] > 20 and created["create_container"] > 20
    assert result.exit_code == 0 and "failed" not in result.outcomes.values()
    assert fake.runtime.sandboxes == {} and fake.runtime.containers == {}


def test_a_failed_cleanup_fails_its_check_and_the_sweep_removes_what_is_left(
    serve: Callable[..., ServedFake],
) -> None:
    """A check whose objects cannot be removed fails; the end-of-session sweep by run label removes them."""
    fake = serve(healthy)
    # the capability probe's cleanup and the check's cleanup each fail once; the sweep comes after
    fake.runtime.faults.fail_next("remove_pod_sandbox", Internal("cleanup broken"), times=2)
    result = run_suite(fake.endpoint, focus="check_sandbox.py::test_ready_after_run$")
    assert result.of("test_ready_after_run") == "failed" and result.exit_code == 1
    assert fake.runtime.faults.count()["remove_pod_sandbox"] == 4
    assert fake.runtime.sandboxes == {}


def test_objects_left_behind_fail_the_run(serve: Callable[..., ServedFake]) -> None:
    """Only the probe's cleanup fails: every check passes, but the sweep finding its sandbox fails the run."""
    fake = serve(healthy)
    fake.runtime.faults.fail_next("remove_pod_sandbox", Internal("cleanup broken"), times=1)
    result = run_suite(fake.endpoint, focus="check_runtime.py::test_version_api_is_v1$")
    assert result.of("test_version_api_is_v1") == "passed" and result.exit_code == 1
    assert fake.runtime.sandboxes == {}


def test_focus_and_skip_select_checks(serve: Callable[..., ServedFake]) -> None:
    fake = serve(healthy)
    result = run_suite(fake.endpoint, focus="check_runtime", skip="status")
    names = {nodeid.split("::")[-1] for nodeid in result.outcomes}
    assert "test_version_api_is_v1" in names and not any("status" in n for n in names)
    assert all(nodeid.split("::")[0].endswith("check_runtime.py") for nodeid in result.outcomes)
