"""The pure compute-pod-actions step: what the kubelet decides for a pod given what the runtime holds."""

from __future__ import annotations

import dataclasses

from api.core.v1.pods import pod_uid
from api.model.core_v1 import Pod
from kubelet.actions import PodActions, ProbeVerdicts, compute_pod_actions
from kubelet.backoff import Backoff, BackoffPolicy
from kubelet.runtime_view import RuntimePod

from .podspecs import exited, make_pod, running, runtime_pod, sandbox

NOW = 1000.0


def _actions(
    pod: Pod, runtime: RuntimePod, *, backoff: Backoff | None = None, probes: ProbeVerdicts | None = None
) -> PodActions:
    return compute_pod_actions(
        pod, runtime, probes=probes or ProbeVerdicts(), backoff=backoff or Backoff(), now=NOW
    )


def test_new_pod_gets_a_sandbox_and_all_containers() -> None:
    pod = make_pod(containers=[{"name": "a", "image": "x:1"}, {"name": "b", "image": "x:1"}])
    actions = _actions(pod, RuntimePod(uid=pod_uid(pod)))
    assert actions.create_sandbox and not actions.kill_pod
    assert actions.attempt == 0
    assert actions.containers_to_start == ("a", "b")


def test_new_pod_with_init_containers_starts_only_the_first_init() -> None:
    pod = make_pod(initContainers=[{"name": "i1", "image": "x:1"}, {"name": "i2", "image": "x:1"}])
    actions = _actions(pod, RuntimePod(uid=pod_uid(pod)))
    assert actions.init_containers_to_start == ("i1",)
    assert actions.containers_to_start == ()


def test_init_containers_run_in_order_then_regular_containers() -> None:
    pod = make_pod(initContainers=[{"name": "i1", "image": "x:1"}, {"name": "i2", "image": "x:1"}])
    i1_running = runtime_pod(pod, running(pod, "i1", "c1"))
    assert _actions(pod, i1_running).nothing_to_do
    i1_done = runtime_pod(pod, exited(pod, "i1", "c1", code=0))
    assert _actions(pod, i1_done).init_containers_to_start == ("i2",)
    both_done = runtime_pod(pod, exited(pod, "i1", "c1", code=0), exited(pod, "i2", "c2", code=0))
    assert _actions(pod, both_done).containers_to_start == ("app",)


def test_failed_init_container_fails_a_never_pod_and_is_retried_otherwise() -> None:
    never = make_pod(restartPolicy="Never", initContainers=[{"name": "i1", "image": "x:1"}])
    assert _actions(never, runtime_pod(never, exited(never, "i1", "c1", code=1))).init_failed
    always = make_pod(initContainers=[{"name": "i1", "image": "x:1"}])
    assert _actions(
        always, runtime_pod(always, exited(always, "i1", "c1", code=1))
    ).init_containers_to_start == ("i1",)


def test_sidecar_keeps_running_and_regular_containers_start_beside_it() -> None:
    pod = make_pod(initContainers=[{"name": "side", "image": "x:1", "restartPolicy": "Always"}])
    actions = _actions(pod, runtime_pod(pod, running(pod, "side", "s1")))
    assert actions.containers_to_start == ("app",)
    pending = _actions(
        pod,
        runtime_pod(pod, running(pod, "side", "s1")),
        probes=ProbeVerdicts(startup_pending=frozenset({"s1"})),
    )
    assert pending.nothing_to_do


def test_restart_policies() -> None:
    for policy, code, restarts in [
        ("Always", 0, True),
        ("OnFailure", 0, False),
        ("OnFailure", 1, True),
        ("Never", 1, False),
    ]:
        pod = make_pod(restartPolicy=policy)
        actions = _actions(pod, runtime_pod(pod, exited(pod, "app", "c1", code=code)))
        assert (actions.containers_to_start == ("app",)) is restarts, (policy, code)


def test_crash_loop_back_off_holds_a_restart_until_the_delay_passed() -> None:
    pod = make_pod()
    backoff = Backoff(BackoffPolicy(initial_s=10, max_s=300))
    backoff.next(f"{pod_uid(pod)}/app", now=NOW - 50)
    recent = runtime_pod(pod, exited(pod, "app", "c1", code=1, finished_s=NOW - 5))
    actions = _actions(pod, recent, backoff=backoff)
    assert actions.containers_to_start == ()
    assert actions.waiting["app"].reason == "CrashLoopBackOff"
    assert actions.waiting["app"].message.startswith(
        "back-off 10s restarting failed container=app pod=web_default("
    )
    old = runtime_pod(pod, exited(pod, "app", "c1", code=1, finished_s=NOW - 11))
    assert _actions(pod, old, backoff=backoff).containers_to_start == ("app",)


def test_back_off_doubles_up_to_the_cap_and_resets_after_good_running() -> None:
    backoff = Backoff(BackoffPolicy(initial_s=10, max_s=300, reset_after_s=600))
    delays = []
    for step in range(7):
        backoff.next("k", now=step)
        delays.append(backoff.delay("k"))
    assert delays == [10, 20, 40, 80, 160, 300, 300]
    backoff.next("k", now=6 + 601)
    assert backoff.delay("k") == 10


def test_liveness_failure_kills_the_container_and_it_restarts_from_its_exit() -> None:
    pod = make_pod()
    actions = _actions(
        pod,
        runtime_pod(pod, running(pod, "app", "c1")),
        probes=ProbeVerdicts(liveness_failed=frozenset({"c1"})),
    )
    assert [k.container_id for k in actions.containers_to_kill] == ["c1"]
    assert actions.containers_to_start == ()


def test_changed_spec_replaces_the_container() -> None:
    pod = make_pod()
    stale = running(pod, "app", "c1")
    stale = dataclasses.replace(stale, spec_hash="00000000")
    actions = _actions(pod, runtime_pod(pod, stale))
    assert [k.container_id for k in actions.containers_to_kill] == ["c1"]
    assert actions.containers_to_start == ("app",)


def test_dead_sandbox_is_replaced_except_for_a_never_pod_that_ran() -> None:
    pod = make_pod()
    dead = runtime_pod(pod, exited(pod, "app", "c1", code=137), sandboxes=(sandbox(ready=False, attempt=2),))
    actions = _actions(pod, dead)
    assert actions.create_sandbox and actions.kill_pod and actions.attempt == 3
    never = make_pod(restartPolicy="Never")
    dead_never = runtime_pod(never, exited(never, "app", "c1", code=0), sandboxes=(sandbox(ready=False),))
    actions = _actions(never, dead_never)
    assert not actions.create_sandbox


def test_containers_not_in_the_spec_are_killed() -> None:
    pod = make_pod()
    other = make_pod(containers=[{"name": "gone", "image": "x:1"}])
    actions = _actions(pod, runtime_pod(pod, running(pod, "app", "c1"), running(other, "gone", "c2")))
    assert [k.container_id for k in actions.containers_to_kill] == ["c2"]
