"""The record table every stateful shim uses: saved before held, found by prefix, names reserved once."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from cri import domain as d
from cri.errors import AlreadyExists, NotFound
from cri.records import ContainerRecordBase, SandboxRecordBase
from cri.table import RecordTable
from tests.runc.scenario import wait_until


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Sandbox(SandboxRecordBase):
    listed: bool = True


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Container(ContainerRecordBase):
    @property
    def image_id(self) -> str:
        return self.image_ref

    @property
    def mounts(self) -> tuple[d.Mount, ...]:
        return ()


class Journal:
    def __init__(self) -> None:
        self.saved: list[str] = []
        self.deleted: list[str] = []

    def save(self, record: Sandbox | Container, *, durable: bool) -> None:
        self.saved.append(record.id)

    def delete(self, record: Sandbox | Container) -> None:
        self.deleted.append(record.id)


POD = d.PodSandboxConfig(metadata=d.PodSandboxMetadata(name="p", namespace="n", uid="u"), labels={"app": "x"})


def _table() -> tuple[RecordTable[Sandbox, Container], Journal]:
    journal = Journal()
    return RecordTable(journal, sandbox_type=Sandbox, container_type=Container), journal


def _sandbox(sandbox_id: str, **changes: object) -> Sandbox:
    return dataclasses.replace(
        Sandbox(id=sandbox_id, config=POD, runtime_handler="", created_at=1), **changes
    )


async def test_a_committed_record_is_saved_and_found_by_a_unique_prefix() -> None:
    table, journal = _table()
    table.commit(_sandbox("abc1"))
    table.commit(_sandbox("abd2"))
    assert journal.saved == ["abc1", "abd2"]
    assert table.sandbox("abc").id == "abc1"
    with pytest.raises(NotFound):
        table.sandbox("ab")  # ambiguous
    assert table.maybe_sandbox("zzz") is None


async def test_a_name_is_reserved_until_its_record_is_forgotten() -> None:
    table, journal = _table()

    async def make(sandbox_id: str) -> str:
        table.commit(_sandbox(sandbox_id))
        return sandbox_id

    first = await table.create_sandbox(POD, lambda: make("s1"))
    with pytest.raises(AlreadyExists):
        await table.create_sandbox(POD, lambda: make("s2"))
    table.forget(table.sandboxes[first])
    assert journal.deleted == ["s1"] and not table.sandboxes
    assert await table.create_sandbox(POD, lambda: make("s3")) == "s3"


async def test_lists_and_stats_leave_out_sandboxes_in_the_making() -> None:
    table, _ = _table()
    table.commit(_sandbox("ready"))
    table.commit(_sandbox("making", listed=False))
    table.commit(_sandbox("stopped", ready=False))
    assert [s.id for s in table.list_sandboxes(None)] == ["ready", "stopped"]
    assert [
        s.id for s in table.select_sandbox_stats(d.PodSandboxStatsFilter(label_selector={"app": "x"}))
    ] == ["ready"]


async def test_events_carry_the_pod_and_its_containers_as_committed() -> None:
    table, _ = _table()
    table.commit(_sandbox("s1"))
    container = Container(
        id="c1", sandbox_id="s1", config=d.ContainerConfig(metadata=d.ContainerMetadata(name="c")),
        image_ref="img", log_path="", created_at=2, started_at=3,
    )  # fmt: skip
    table.commit(container)
    events = table.events.subscribe()
    waiting = asyncio.ensure_future(anext(events))
    await wait_until(lambda: table.events.subscriber_count == 1, what="the subscription")
    table.publish("c1", d.ContainerEventType.CONTAINER_STARTED_EVENT)
    event = await asyncio.wait_for(waiting, 10)
    assert event.pod_sandbox_status is not None and event.pod_sandbox_status.id == "s1"
    assert [s.state for s in event.containers_statuses] == [d.ContainerState.CONTAINER_RUNNING]
