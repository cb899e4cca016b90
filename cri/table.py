"""The record table every shim that keeps its own state uses: records by id, names, lists, events.

A shim describes its sandbox and container records with the protocols below; the table finds them
by id prefix, reserves their names, answers List* and stats selections with the CRI filters, and
publishes container events from what is committed. Persistence is the shim's: a ``RecordSink``
saves each record before the table holds it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Generic, Protocol, TypeVar

from cri import domain as d
from cri.errors import NotFound
from cri.events import EventHub
from cri.filters import filter_containers, filter_sandboxes, labels_match
from cri.ids import NameRegistry, container_name, resolve_prefix, sandbox_name
from cri.views import container_event


class SandboxEntry(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def config(self) -> d.PodSandboxConfig: ...
    @property
    def ready(self) -> bool: ...
    @property
    def listed(self) -> bool:
        """False while the sandbox is still being made: List* and stats leave it out, as containerd."""
        ...

    def view(self) -> d.PodSandbox: ...
    def status(self) -> d.PodSandboxStatus: ...


class ContainerEntry(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def sandbox_id(self) -> str: ...
    @property
    def config(self) -> d.ContainerConfig: ...
    @property
    def state(self) -> d.ContainerState: ...

    def view(self) -> d.Container: ...
    def status(self) -> d.ContainerStatus: ...


S = TypeVar("S", bound=SandboxEntry)
C = TypeVar("C", bound=ContainerEntry)
S_contra = TypeVar("S_contra", contravariant=True)
C_contra = TypeVar("C_contra", contravariant=True)


class RecordSink(Protocol[S_contra, C_contra]):
    def save(self, record: S_contra | C_contra, *, durable: bool) -> None:
        """``durable``: on stable storage before this returns (else written, as a step towards one)."""
        ...

    def delete(self, record: S_contra | C_contra) -> None: ...


class InMemory:
    """A sink that keeps nothing beyond the table (the fake)."""

    def save(self, record: object, *, durable: bool) -> None:
        return None

    def delete(self, record: object) -> None:
        return None


class RecordTable(Generic[S, C]):
    def __init__(self, sink: RecordSink[S, C], *, sandbox_type: type[S], container_type: type[C]) -> None:
        self._sink = sink
        self._sandbox_type = sandbox_type
        self._container_type = container_type
        self._sandboxes: dict[str, S] = {}
        self._containers: dict[str, C] = {}
        self._sandbox_names = NameRegistry("pod sandbox")
        self._container_names = NameRegistry("container")
        self.events = EventHub()

    # lookups
    def sandbox(self, prefix: str) -> S:
        return self._sandboxes[resolve_prefix(prefix, self._sandboxes, kind="pod sandbox")]

    def container(self, prefix: str) -> C:
        return self._containers[resolve_prefix(prefix, self._containers, kind="container")]

    def maybe_sandbox(self, prefix: str) -> S | None:
        with contextlib.suppress(NotFound):
            return self.sandbox(prefix)
        return None

    def maybe_container(self, prefix: str) -> C | None:
        with contextlib.suppress(NotFound):
            return self.container(prefix)
        return None

    def get_sandbox(self, sandbox_id: str) -> S | None:
        return self._sandboxes.get(sandbox_id)

    def get_container(self, container_id: str) -> C | None:
        return self._containers.get(container_id)

    @property
    def sandboxes(self) -> Mapping[str, S]:
        """Read-only, by id."""
        return MappingProxyType(self._sandboxes)

    @property
    def containers(self) -> Mapping[str, C]:
        return MappingProxyType(self._containers)

    def containers_of(self, sandbox_id: str) -> list[C]:
        return [c for c in self._containers.values() if c.sandbox_id == sandbox_id]

    def running_in(self, sandbox_id: str) -> list[C]:
        running = d.ContainerState.CONTAINER_RUNNING
        return [c for c in self.containers_of(sandbox_id) if c.state == running]

    # creation under a reserved name
    async def create_sandbox(self, config: d.PodSandboxConfig, make: Callable[[], Awaitable[str]]) -> str:
        """Run ``make`` (which commits the record) under the sandbox's name; a retry gets its result."""
        return await self._sandbox_names.create(_sandbox_name(config), make)

    async def create_container(
        self, sandbox: S, config: d.ContainerConfig, make: Callable[[], Awaitable[str]]
    ) -> str:
        return await self._container_names.create(_container_name(sandbox.config, config), make)

    # changes
    def commit(self, record: S | C, *, durable: bool = True) -> None:
        """Save, then hold: what the table answers is on disk first.

        ``durable=False`` for a step before the state an RPC acknowledges: written before the action
        it describes (a crash finds it), made durable by the acknowledged commit that follows.
        """
        self._sink.save(record, durable=durable)
        self._hold(record)

    def adopt(self, record: S | C) -> None:
        """Hold a record read back from disk, with its name reserved."""
        self._hold(record)
        if isinstance(record, self._container_type):
            sandbox = self._sandboxes[record.sandbox_id]
            self._container_names.reserve(_container_name(sandbox.config, record.config), record.id)
        elif isinstance(record, self._sandbox_type):
            self._sandbox_names.reserve(_sandbox_name(record.config), record.id)

    def forget(self, record: S | C) -> None:
        """Delete the record and release its name."""
        self._sink.delete(record)
        if isinstance(record, self._container_type):
            if self._containers.pop(record.id, None) is not None:
                self._container_names.release(record.id)
        elif self._sandboxes.pop(record.id, None) is not None:
            self._sandbox_names.release(record.id)

    def _hold(self, record: S | C) -> None:
        if isinstance(record, self._container_type):
            self._containers[record.id] = record
        elif isinstance(record, self._sandbox_type):
            self._sandboxes[record.id] = record

    def publish(self, object_id: str, kind: d.ContainerEventType) -> None:
        container = self._containers.get(object_id)
        sandbox_id = container.sandbox_id if container is not None else object_id
        self.events.publish(
            container_event(
                object_id,
                kind,
                sandbox_id=sandbox_id,
                sandbox=self._sandboxes.get(sandbox_id),
                containers=self._containers.values(),
            )
        )

    # List* and stats selections
    def list_sandboxes(self, filter_: d.PodSandboxFilter | None) -> list[d.PodSandbox]:
        return filter_sandboxes((s.view() for s in self._sandboxes.values() if s.listed), filter_)

    def list_containers(self, filter_: d.ContainerFilter | None) -> list[d.Container]:
        return filter_containers((c.view() for c in self._containers.values()), filter_)

    def select_container_stats(self, filter_: d.ContainerStatsFilter | None) -> list[C]:
        f = filter_ or d.ContainerStatsFilter()
        return [
            c
            for c in self._containers.values()
            if c.id.startswith(f.id)
            and c.sandbox_id.startswith(f.pod_sandbox_id)
            and labels_match(f.label_selector, c.config.labels)
        ]

    def select_sandbox_stats(self, filter_: d.PodSandboxStatsFilter | None) -> list[S]:
        f = filter_ or d.PodSandboxStatsFilter()
        return [
            s
            for s in self._sandboxes.values()
            if s.ready
            and s.listed
            and s.id.startswith(f.id)
            and labels_match(f.label_selector, s.config.labels)
        ]


class TableViews(Generic[S, C]):
    """``sandboxes`` and ``containers`` by id, read-only, for a runtime that keeps a ``table``."""

    table: RecordTable[S, C]

    @property
    def sandboxes(self) -> Mapping[str, S]:
        return self.table.sandboxes

    @property
    def containers(self) -> Mapping[str, C]:
        return self.table.containers

    @property
    def events(self) -> EventHub:
        return self.table.events


def _sandbox_name(config: d.PodSandboxConfig) -> str:
    meta = config.metadata
    assert meta is not None  # the servicer guarantees it
    return sandbox_name(meta.name, meta.namespace, meta.uid, meta.attempt)


def _container_name(sandbox: d.PodSandboxConfig, config: d.ContainerConfig) -> str:
    pod, meta = sandbox.metadata, config.metadata
    assert pod is not None and meta is not None
    return container_name(meta.name, pod.name, pod.namespace, pod.uid, meta.attempt)


__all__ = ["ContainerEntry", "InMemory", "RecordSink", "RecordTable", "SandboxEntry", "TableViews"]
