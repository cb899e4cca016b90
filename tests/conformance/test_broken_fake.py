"""A check that always passes is a defect: per area, a fake broken on purpose makes its checks fail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from cri.errors import NotFound
from shims.fake import FakeImages, FakeRuntime
from tests.conformance import broken_backends as broken
from tests.conformance.harness import ServedFake, run_suite


@dataclass(frozen=True)
class Case:
    factory: Callable[[], tuple[FakeRuntime, FakeImages]]
    focus: str
    must_fail: frozenset[str]


def _fails_remove_container() -> tuple[FakeRuntime, FakeImages]:
    runtime, images = broken._pair(FakeRuntime)
    # every RemoveContainer answers NOT_FOUND, also for missing ids where success is required
    runtime.faults.fail_always("remove_container", NotFound("container is gone"))
    return runtime, images


CASES = {
    "runtime": Case(
        lambda: broken._pair(broken.WrongApiVersion),
        "check_runtime",
        frozenset({"test_version_api_is_v1", "test_status_network_ready"}),
    ),
    "sandbox: stop keeps it READY": Case(
        lambda: broken._pair(broken.StopKeepsSandboxReady),
        "check_sandbox",
        frozenset({"test_notready_after_stop", "test_filter_by_state_notready", "test_stop_stops_containers",
                   "test_filter_id_and_state_anded", "test_stop_twice"}),
    ),
    "sandbox: annotations dropped": Case(
        lambda: broken._pair(broken.DropsSandboxAnnotations),
        "check_sandbox",
        frozenset({"test_annotations_byte_for_byte"}),
    ),
    "container: filters ignored": Case(
        lambda: broken._pair(broken.ListIgnoresContainerFilter),
        "check_container",
        frozenset({"test_filter_by_id_prefix", "test_filter_by_state", "test_filter_by_sandbox",
                   "test_filter_by_label", "test_filter_sandbox_and_state_anded"}),
    ),
    "errors: remove of missing container fails": Case(
        _fails_remove_container,
        r"check_errors.py::test_missing_object_is_success",
        frozenset({"test_missing_object_is_success[RemoveContainer]"}),
    ),
    "errors: status of missing sandbox is INTERNAL": Case(
        lambda: broken._pair(broken.StatusOfMissingIsInternal),
        r"check_errors.py::test_missing_id_is_not_found",
        frozenset({"test_missing_id_is_not_found[PodSandboxStatus]"}),
    ),
    "images: pull answers the reference": Case(
        lambda: broken._pair(FakeRuntime, broken.PullAnswersReference),
        "check_images",
        frozenset({"test_pull_returns_image_id", "test_pull_by_digest", "test_pull_again_same_id"}),
    ),
    "stats: filters ignored": Case(
        lambda: broken._pair(broken.ListStatsIgnoresFilter),
        "check_stats",
        frozenset({"test_list_stats_filter_by_id", "test_list_stats_filter_by_pod",
                   "test_list_stats_filter_by_label"}),
    ),
    "events: bare events": Case(
        lambda: broken._pair(broken.BareEvents),
        "check_events",
        frozenset({"test_event_carries_sandbox_status", "test_event_timestamps_nanoseconds",
                   "test_sandbox_events", "test_container_started_event"}),
    ),
    "resources: update ignored": Case(
        lambda: broken._pair(broken.UpdateIgnored),
        "check_resources.py::test_status_reports",
        frozenset({"test_status_reports_updated_resources"}),
    ),
    "exec: lying processes": Case(
        lambda: broken._pair(broken.LyingProcesses),
        r"check_exec.py::test_(stdout|stderr_separate|exit_code|large_output|missing_binary)",
        frozenset({"test_stderr_separate", "test_exit_code[1]", "test_exit_code[127]", "test_large_output",
                   "test_missing_binary_fails"}),
    ),
    "security: lying processes": Case(
        lambda: broken._pair(broken.LyingProcesses),
        r"check_security.py::test_(run_as_user|readonly_rootfs|capability_add|no_new_privs|seccomp_unconfined)",
        frozenset({"test_run_as_user", "test_readonly_rootfs", "test_capability_add", "test_no_new_privs",
                   "test_seccomp_unconfined"}),
    ),
    "network: lying processes": Case(
        lambda: broken._pair(broken.LyingProcesses),
        r"check_network.py::test_(hostname|dns_servers|dns_options|safe_sysctl)$",
        frozenset({"test_hostname", "test_dns_servers", "test_dns_options"}),
    ),
    "mounts: lying processes": Case(
        lambda: broken._pair(broken.LyingProcesses),
        r"check_mounts.py::test_(readonly_mount|bind_mount_sees_host_files|file_mount)$",
        frozenset({"test_readonly_mount", "test_bind_mount_sees_host_files", "test_file_mount"}),
    ),
    "logs: raw text instead of CRI lines": Case(
        lambda: broken._pair(broken.RawLogs),
        r"check_logs.py::test_(stdout_full_lines|stderr_tagged|timestamps_rfc3339nano)$",
        frozenset({"test_stdout_full_lines", "test_stderr_tagged", "test_timestamps_rfc3339nano"}),
    ),
    "streaming: fixed malformed URLs": Case(
        lambda: broken._pair(broken.StaticStreamingUrls),
        r"check_streaming.py::test_(exec_url|attach_url|port_forward_url|exec_urls_unique|spdy_exec_stdout)$",
        frozenset({"test_exec_url", "test_attach_url", "test_port_forward_url", "test_exec_urls_unique",
                   "test_spdy_exec_stdout"}),
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_broken_fake_fails_the_checks(serve: Callable[..., ServedFake], name: str) -> None:
    case = CASES[name]
    fake = serve(case.factory)
    result = run_suite(fake.endpoint, focus=case.focus)
    missed = case.must_fail - result.failed()
    assert not missed, f"checks that passed or skipped on the broken fake: {sorted(missed)}"
    assert result.exit_code == 1
