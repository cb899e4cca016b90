"""Ids, unique-prefix lookup and name reservation, shared by every shim that keeps its own state."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from cri.errors import AlreadyExists, NotFound


def new_id() -> str:
    """A fresh 64-hex-character id, as containerd and CRI-O generate them."""
    return secrets.token_hex(32)


class AmbiguousId(NotFound):
    """A prefix matched more than one object (answered NOT_FOUND, like containerd's truncindex)."""


def resolve_prefix(prefix: str, ids: Iterable[str], *, kind: str) -> str:
    """The one id in ``ids`` that starts with ``prefix``; NotFound when none or several do."""
    if not prefix:
        raise NotFound(f"{kind} id is empty")
    matches = [i for i in ids if i.startswith(prefix)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NotFound(f"{kind} {prefix!r} not found")
    raise AmbiguousId(f"{kind} id prefix {prefix!r} is ambiguous: it matches {len(matches)} ids")


def sandbox_name(name: str, namespace: str, uid: str, attempt: int) -> str:
    return f"{name}_{namespace}_{uid}_{attempt}"


def container_name(name: str, sandbox: str, namespace: str, uid: str, attempt: int) -> str:
    return f"{name}_{sandbox}_{namespace}_{uid}_{attempt}"


@dataclass
class NameRegistry:
    """Reserves names; a caller retrying a name whose first call is still running gets its result.

    This is what keeps a kubelet retry after a client timeout from failing with "name is reserved".
    """

    kind: str
    _owners: dict[str, str] = field(default_factory=dict)
    _pending: dict[str, asyncio.Future[str]] = field(default_factory=dict)

    async def create(self, name: str, make: Callable[[], Awaitable[str]]) -> str:
        """Run ``make`` under ``name`` and reserve the name for the id it returns."""
        pending = self._pending.get(name)
        if pending is not None:
            return await asyncio.shield(pending)
        owner = self._owners.get(name)
        if owner is not None:
            raise AlreadyExists(f"{self.kind} name {name!r} is reserved for {owner}")
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pending[name] = future
        try:
            object_id = await make()
        except BaseException as exc:
            if isinstance(exc, Exception):
                future.set_exception(exc)
                future.exception()  # marks it retrieved: a failure nobody retried is not reported
            else:
                future.cancel()
            raise
        finally:
            del self._pending[name]
        self._owners[name] = object_id
        future.set_result(object_id)
        return object_id

    def reserve(self, name: str, object_id: str) -> None:
        """Record an existing object's name (used when state is recovered from disk)."""
        self._owners[name] = object_id

    def release(self, object_id: str) -> None:
        for name in [n for n, owner in self._owners.items() if owner == object_id]:
            del self._owners[name]
