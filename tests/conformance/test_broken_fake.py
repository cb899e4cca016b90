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
    "critest security: lying processes": Case(
        lambda: broken._pair(broken.LyingProcesses),
        r"check_critest_security.py::test_(host_pid|all_capabilities|host_ipc|pid_namespace_pid1"
        r"|privileged_network_management|legacy_docker_default_sethostname)",
        frozenset({"test_host_pid", "test_all_capabilities[add]", "test_all_capabilities[drop]",
                   "test_host_ipc[host-ipc]", "test_host_ipc[pod-ipc]", "test_pid_namespace_pid1[pod-pid]",
                   "test_pid_namespace_pid1[container-pid]", "test_privileged_network_management[privileged]",
                   "test_privileged_network_management[unprivileged]",
                   "test_legacy_docker_default_sethostname[sys-admin]",
                   "test_legacy_docker_default_sethostname[no-caps]"}),
    ),
    "critest basics: stop keeps it READY": Case(
        lambda: broken._pair(broken.StopKeepsSandboxReady),
        r"check_critest_basics.py::test_stop_default_pod$",
        frozenset({"test_stop_default_pod"}),
    ),
    "critest network: lying processes": Case(
        lambda: broken._pair(broken.LyingProcesses),
        r"check_critest_network.py::test_(dns_config|set_hostname)$",
        frozenset({"test_dns_config", "test_set_hostname"}),
    ),
    "differential sandboxes: lying processes": Case(
        lambda: broken._pair(broken.LyingProcesses),
        r"check_differential_sandboxes.py::test_(resolv_conf_exact|mounted_etc_hosts_wins"
        r"|containers_of_a_pod_share_dev_shm)$",
        frozenset({"test_resolv_conf_exact", "test_mounted_etc_hosts_wins",
                   "test_containers_of_a_pod_share_dev_shm"}),
    ),
    "differential containers: lying processes": Case(
        lambda: broken._pair(broken.LyingProcesses),
        r"check_differential_containers.py::test_(exec_runs_in_working_dir|config_env_replaces_image_env"
        r"|home_and_hostname_env)$",
        frozenset({"test_exec_runs_in_working_dir", "test_config_env_replaces_image_env",
                   "test_home_and_hostname_env"}),
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


# What a runtime that answers "0" and exits 0 to every command (echo aside) may still pass in each area
# whose checks run processes: checks that run none, and checks that only echo. Reviewed; nothing else.
LYING_MAY_PASS = {
    "security": frozenset(),
    "network": frozenset(),
    "mounts": frozenset({"test_mount_reported_in_status"}),
    "resources": frozenset(
        {
            "test_status_reports_resources",
            "test_status_reports_updated_resources",
            "test_update_created_container",
        }
    ),
    "exec": frozenset(
        {"test_stdout", "test_exec_in_created_container_fails", "test_exec_in_exited_container_fails"}
    ),
}


@pytest.mark.parametrize("area", list(LYING_MAY_PASS))
def test_every_process_check_fails_against_a_runtime_that_lies(
    serve: Callable[..., ServedFake], area: str
) -> None:
    """Each check proves what it looks at exists (a namespace, a mount, a file) before comparing it."""
    fake = serve(lambda: broken._pair(broken.LyingProcesses))
    result = run_suite(fake.endpoint, focus=rf"check_{area}\.py")
    passed = {nodeid.split("::")[-1] for nodeid, outcome in result.outcomes.items() if outcome != "failed"}
    assert passed == LYING_MAY_PASS[area]
    assert len(result.outcomes) > len(passed)
