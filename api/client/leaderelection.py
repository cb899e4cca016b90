"""Leader election over a coordination.k8s.io/v1 Lease, as client-go's leaderelection package does it.

One candidate holds the Lease and renews it every ``retry_period_s``; if it cannot renew within
``renew_deadline_s`` it stops leading. Others take over once they have seen the same record for
``lease_duration_s`` (their own clock: the record's timestamps are not compared across machines).
Every write carries the resourceVersion read, so two candidates never both succeed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.client.clock import Clock, MonotonicClock
from api.client.errors import AlreadyExists, ApiError, ApiUnreachable, Conflict, NotFound
from api.client.protocol import Api
from api.client.resources import LEASES
from api.client.types import Obj

log = logging.getLogger(__name__)

HEALTH_TOLERANCE_S = 20.0


@dataclass(frozen=True, kw_only=True)
class LeaderElectionConfig:
    lease_name: str
    namespace: str
    identity: str
    lease_duration_s: float = 15.0
    renew_deadline_s: float = 10.0
    retry_period_s: float = 2.0

    def __post_init__(self) -> None:
        if not self.lease_duration_s > self.renew_deadline_s > self.retry_period_s > 0:
            raise ValueError("leader election needs lease_duration_s > renew_deadline_s > retry_period_s > 0")


class LeadershipLost(Exception):
    """The lease could not be renewed within the renew deadline; the leader's work was stopped."""


def micro_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(self, api: Api, config: LeaderElectionConfig, *, clock: Clock | None = None) -> None:
        self.api = api
        self.config = config
        self.clock: Clock = clock or MonotonicClock()
        self._observed_spec: dict[str, Any] | None = None
        self._observed_at = 0.0
        self._leading = False

    @property
    def is_leader(self) -> bool:
        return self._leading

    def healthy(self) -> bool:
        """The /healthz check upstream adds: false once a leader has not renewed for its lease duration
        plus 20 s (it should have stopped leading by then)."""
        if not self._leading:
            return True
        return self.clock.now() - self._observed_at <= self.config.lease_duration_s + HEALTH_TOLERANCE_S

    async def run(self, lead: Callable[[], Awaitable[None]]) -> None:
        """Waits to acquire the lease, then runs ``lead`` while renewing it.

        Returns when ``lead`` returns (the lease is released); raises ``LeadershipLost`` when renewing
        failed; on cancellation (graceful stop) releases the lease if it is still ours.
        """
        await self._acquire()
        try:
            async with asyncio.TaskGroup() as tasks:
                renewing = tasks.create_task(self._renew_until_lost())
                await lead()
                renewing.cancel()
        except BaseExceptionGroup as group:
            if len(group.exceptions) == 1:
                raise group.exceptions[0] from None
            raise
        finally:
            self._leading = False
            await asyncio.shield(self._release())

    async def _acquire(self) -> None:
        while not await self.try_acquire_or_renew():
            await self.clock.sleep(self.config.retry_period_s)
        self._leading = True
        log.info(
            "%s acquired lease %s/%s", self.config.identity, self.config.namespace, self.config.lease_name
        )

    async def _renew_until_lost(self) -> None:
        while True:
            await self.clock.sleep(self.config.retry_period_s)
            deadline = self.clock.now() + self.config.renew_deadline_s
            while not await self.try_acquire_or_renew():
                if self.clock.now() + self.config.retry_period_s > deadline:
                    raise LeadershipLost(
                        f"{self.config.identity} could not renew lease {self.config.lease_name}"
                    )
                await self.clock.sleep(self.config.retry_period_s)

    async def try_acquire_or_renew(self) -> bool:
        try:
            lease = await self.api.get(LEASES, self.config.lease_name, namespace=self.config.namespace)
        except NotFound:
            return await self._create()
        except (ApiError, ApiUnreachable) as error:
            log.warning("reading lease %s failed: %s", self.config.lease_name, error)
            return False
        spec = lease.get("spec") or {}
        self._observe(spec)
        holder = spec.get("holderIdentity") or ""
        if holder and holder != self.config.identity and not self._expired():
            return False
        return await self._write({**lease, "spec": self._spec(previous=spec)})

    def _observe(self, spec: dict[str, Any]) -> None:
        if spec != self._observed_spec:
            self._observed_spec = dict(spec)
            self._observed_at = self.clock.now()

    def _expired(self) -> bool:
        duration = float(
            (self._observed_spec or {}).get("leaseDurationSeconds") or self.config.lease_duration_s
        )
        return self._observed_at + duration <= self.clock.now()

    def _spec(self, *, previous: dict[str, Any]) -> dict[str, Any]:
        now = micro_time(self.clock.wall())
        ours = previous.get("holderIdentity") == self.config.identity
        transitions = int(previous.get("leaseTransitions") or 0)
        return {
            "holderIdentity": self.config.identity,
            "leaseDurationSeconds": int(self.config.lease_duration_s),
            "acquireTime": previous.get("acquireTime", now) if ours else now,
            "renewTime": now,
            "leaseTransitions": transitions
            if ours or not previous.get("holderIdentity")
            else transitions + 1,
        }

    async def _create(self) -> bool:
        lease: Obj = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.config.lease_name, "namespace": self.config.namespace},
            "spec": self._spec(previous={}),
        }
        try:
            created = await self.api.create(LEASES, lease)
        except (AlreadyExists, ApiError, ApiUnreachable) as error:
            log.info("creating lease %s failed: %s", self.config.lease_name, error)
            return False
        self._observe(created.get("spec") or {})
        return True

    async def _write(self, lease: Obj) -> bool:
        try:
            updated = await self.api.update(LEASES, lease)
        except Conflict:
            return False
        except (ApiError, ApiUnreachable) as error:
            log.warning("updating lease %s failed: %s", self.config.lease_name, error)
            return False
        self._observe(updated.get("spec") or {})
        return True

    async def _release(self) -> None:
        """Clears the holder, re-reading the lease first: only a lease still ours is cleared."""
        try:
            lease = await self.api.get(LEASES, self.config.lease_name, namespace=self.config.namespace)
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") != self.config.identity:
                return
            now = micro_time(self.clock.wall())
            released = {
                **spec,
                "holderIdentity": "",
                "leaseDurationSeconds": 1,
                "renewTime": now,
                "acquireTime": now,
            }
            await self.api.update(LEASES, {**lease, "spec": released})
        except (ApiError, ApiUnreachable) as error:
            log.warning("releasing lease %s failed: %s", self.config.lease_name, error)
