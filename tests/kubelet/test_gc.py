"""Container GC: what the kubelet removes (dead containers, stopped sandboxes, log dirs) and keeps."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from api.core.v1.pods import pod_uid
from cri.errors import Internal
from kubelet.gc import GCPolicy, plan
from kubelet.runtime_view import (
    EXITED,
    RUNNING,
    RuntimeContainer,
    RuntimePod,
    RuntimeSandbox,
    RuntimeSnapshot,
)

from .conftest import NODE, Node
from .test_kubelet_fake import WEB

S = 1_000_000_000


def container(
    cid: str, *, name: str = "app", sandbox: str = "s1", created_s: int, running: bool = False
) -> RuntimeContainer:
    state = RUNNING if running else EXITED
    return RuntimeContainer(id=cid, name=name, sandbox_id=sandbox, state=state, created_at=created_s * S)


def sandbox(sid: str, *, created_s: int, ready: bool = False) -> RuntimeSandbox:
    return RuntimeSandbox(id=sid, attempt=0, ready=ready, created_at=created_s * S)


def snapshot(*pods: RuntimePod) -> RuntimeSnapshot:
    return RuntimeSnapshot(pods={p.uid: p for p in pods})


def gone(*uids: str) -> Callable[[str], bool]:
    return lambda uid: uid in uids


def test_keeps_the_newest_dead_container_per_pod_container() -> None:
    pod = RuntimePod(
        uid="u1",
        sandboxes=(sandbox("s1", created_s=1, ready=True),),
        containers=(
            container("run", created_s=40, running=True),
            container("dead3", created_s=30),
            container("dead1", created_s=10),
            container("dead2", created_s=20),
            container("side-dead", name="side", created_s=5),
        ),
    )
    todo = plan(snapshot(pod), policy=GCPolicy(), removed=lambda uid: False, now_ns=100 * S)
    assert set(todo.containers) == {"dead1", "dead2"} and todo.sandboxes == ()
    keep_two = plan(
        snapshot(pod), policy=GCPolicy(max_per_pod_container=2), removed=lambda uid: False, now_ns=100 * S
    )
    assert keep_two.containers == ("dead1",)
    unlimited = plan(
        snapshot(pod), policy=GCPolicy(max_per_pod_container=-1), removed=lambda uid: False, now_ns=100 * S
    )
    assert unlimited.empty


def test_min_age_and_the_global_cap() -> None:
    pod = RuntimePod(
        uid="u1",
        containers=(container("a-old", name="a", created_s=10), container("b-new", name="b", created_s=95)),
    )
    young_kept = plan(
        snapshot(pod),
        policy=GCPolicy(min_age_s=30, max_per_pod_container=0),
        removed=lambda uid: False,
        now_ns=100 * S,
    )
    assert young_kept.containers == ("a-old",)
    capped = plan(snapshot(pod), policy=GCPolicy(max_containers=1), removed=lambda uid: False, now_ns=100 * S)
    assert capped.containers == ("a-old",)


def test_stopped_sandboxes_go_except_the_newest_and_those_holding_containers() -> None:
    pod = RuntimePod(
        uid="u1",
        sandboxes=(
            sandbox("s4", created_s=40),
            sandbox("s3", created_s=30),
            sandbox("s2", created_s=20),
            sandbox("s1", created_s=10),
        ),
        containers=(container("c3", sandbox="s3", created_s=31), container("c2", sandbox="s2", created_s=21)),
    )
    todo = plan(snapshot(pod), policy=GCPolicy(), removed=lambda uid: False, now_ns=100 * S)
    assert todo.containers == ("c2",)
    assert set(todo.sandboxes) == {"s2", "s1"}  # s4 is the newest, s3 still holds the kept c3


def test_a_removed_pod_loses_everything_not_running() -> None:
    removed = RuntimePod(
        uid="gone",
        sandboxes=(sandbox("s2", created_s=20), sandbox("s1", created_s=10)),
        containers=(container("c2", sandbox="s2", created_s=21), container("c1", sandbox="s1", created_s=11)),
    )
    still_stopping = RuntimePod(
        uid="stopping",
        sandboxes=(sandbox("r1", created_s=5, ready=True),),
        containers=(container("r-run", sandbox="r1", created_s=6, running=True),),
    )
    todo = plan(
        snapshot(removed, still_stopping), policy=GCPolicy(), removed=gone("gone", "stopping"), now_ns=100 * S
    )
    assert set(todo.containers) == {"c1", "c2"} and set(todo.sandboxes) == {"s1", "s2"}


async def test_leftovers_of_a_removed_pod_are_collected_with_its_log_dir(node: Node) -> None:
    node.write("web.yaml", WEB)
    node.write("db.yaml", WEB.replace("name: web", "name: db").replace("hostPort: 8080", "hostPort: 8081"))
    await node.wait_phase("web", "Running")
    await node.wait_phase("db", "Running")
    web = node.kubelet.find_pod("default", f"web-{NODE}")
    assert web is not None
    log_dirs = {Path(s.config.log_directory): s.id for s in node.runtime.sandboxes.values()}
    for log_dir in log_dirs:
        (log_dir / "app").mkdir(parents=True, exist_ok=True)
    [web_log_dir] = [p for p in log_dirs if p.name.endswith(pod_uid(web))]
    node.runtime.faults.fail_next("remove_pod_sandbox", Internal("disk busy"))
    (node.manifests / "web.yaml").unlink()
    await node.wait_for("web terminated", lambda: pod_uid(web) not in node.kubelet.workers.known())
    assert log_dirs[web_log_dir] in node.runtime.sandboxes  # the failed removal left it behind
    await node.kubelet.collect_garbage()
    assert [s.id for s in node.runtime.sandboxes.values()] == [
        log_dirs[p] for p in log_dirs if p != web_log_dir
    ]
    assert all(c.sandbox_id in node.runtime.sandboxes for c in node.runtime.containers.values())
    assert {p for p in log_dirs if p.exists()} == set(log_dirs) - {web_log_dir}


async def test_a_replaced_sandbox_is_collected_once_stopped(node: Node) -> None:
    node.write("web.yaml", WEB)
    await node.wait_phase("web", "Running")
    for round_ in (1, 2):
        old = next(s for s in node.runtime.sandboxes.values() if s.ready)
        await node.runtime.stop_pod_sandbox(old.id)
        await node.wait_for(
            f"sandbox {round_ + 1}", lambda: sum(s.ready for s in node.runtime.sandboxes.values()) == 1
        )
        await node.wait_phase("web", "Running")
    assert len(node.runtime.sandboxes) == 3
    await node.kubelet.collect_garbage()
    newest = max(node.runtime.sandboxes.values(), key=lambda s: s.created_at)
    assert newest.ready and len(node.runtime.sandboxes) == 2  # the middle one holds the newest dead container
    dead = [c for c in node.runtime.containers.values() if c.sandbox_id != newest.id]
    assert len(dead) == 1
