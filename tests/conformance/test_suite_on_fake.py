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
    assert list(result.outcomes.values()).count("passed") > 40
    assert fake.runtime.sandboxes == {} and fake.runtime.containers == {}


def test_sandboxes_a_check_failed_to_remove_are_swept(serve: Callable[..., ServedFake]) -> None:
    """When per-check cleanup fails, the end-of-session sweep by run label removes what is left."""
    fake = serve(healthy)
    # the capability probe's cleanup and the check's cleanup each fail once; the sweep comes after
    fake.runtime.faults.fail_next("remove_pod_sandbox", Internal("cleanup broken"), times=2)
    result = run_suite(fake.endpoint, focus="check_sandbox.py::test_ready_after_run$")
    assert result.of("test_ready_after_run") == "passed"
    assert fake.runtime.faults.count()["remove_pod_sandbox"] == 4
    assert fake.runtime.sandboxes == {}


def test_focus_and_skip_select_checks(serve: Callable[..., ServedFake]) -> None:
    fake = serve(healthy)
    result = run_suite(fake.endpoint, focus="check_runtime", skip="status")
    names = {nodeid.split("::")[-1] for nodeid in result.outcomes}
    assert "test_version_api_is_v1" in names and not any("status" in n for n in names)
    assert all(nodeid.split("::")[0].endswith("check_runtime.py") for nodeid in result.outcomes)
