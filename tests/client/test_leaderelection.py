"""Leader election on a FakeApi Lease with a manual clock: acquire, renew, take over, lose, release."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from api.client.clock import ManualClock
from api.client.fake import FakeApi
from api.client.leaderelection import LeaderElectionConfig, LeaderElector, LeadershipLost
from api.client.resources import LEASES
from api.client.types import Obj
from tests.client.polling import eventually

NS = "kube-system"


def elector(api: FakeApi, clock: ManualClock, identity: str) -> LeaderElector:
    config = LeaderElectionConfig(lease_name="controller", namespace=NS, identity=identity)
    return LeaderElector(api, config, clock=clock)


async def holder(api: FakeApi) -> str:
    lease = await api.get(LEASES, "controller", namespace=NS)
    return str(lease["spec"]["holderIdentity"])


async def lead_forever() -> None:
    await asyncio.Event().wait()


def test_upstream_defaults() -> None:
    config = LeaderElectionConfig(lease_name="l", namespace=NS, identity="me")
    assert (config.lease_duration_s, config.renew_deadline_s, config.retry_period_s) == (15, 10, 2)
    with pytest.raises(ValueError, match="lease_duration_s > renew_deadline_s"):
        LeaderElectionConfig(lease_name="l", namespace=NS, identity="me", renew_deadline_s=20)


async def test_one_leader_at_a_time_and_a_graceful_stop_hands_over_at_once() -> None:
    api, clock = FakeApi(), ManualClock()
    first, second = elector(api, clock, "a"), elector(api, clock, "b")
    leading_a = asyncio.ensure_future(first.run(lead_forever))
    await eventually(lambda: first.is_leader)
    leading_b = asyncio.ensure_future(second.run(lead_forever))
    await eventually(lambda: clock.sleepers == 2)
    for _ in range(10):
        clock.advance(2)
        await eventually(lambda: clock.sleepers == 2)
    assert not second.is_leader
    lease = await api.get(LEASES, "controller", namespace=NS)
    assert lease["spec"]["leaseDurationSeconds"] == 15
    leading_a.cancel()
    await eventually(lambda: leading_a.done())
    assert await holder(api) == ""
    clock.advance(2)
    await eventually(lambda: second.is_leader)
    assert await holder(api) == "b"
    leading_b.cancel()
    await eventually(lambda: leading_b.done())


async def test_a_leader_that_stopped_renewing_is_replaced_after_the_lease_duration() -> None:
    api, clock = FakeApi(), ManualClock()
    assert await elector(api, clock, "crashed").try_acquire_or_renew()
    successor = elector(api, clock, "b")
    assert not await successor.try_acquire_or_renew()
    clock.advance(14)
    assert not await successor.try_acquire_or_renew()
    clock.advance(1)
    assert await successor.try_acquire_or_renew()
    lease = await api.get(LEASES, "controller", namespace=NS)
    assert (lease["spec"]["holderIdentity"], lease["spec"]["leaseTransitions"]) == ("b", 1)


async def test_a_leader_that_cannot_renew_within_the_deadline_stops_leading() -> None:
    api, clock = FakeApi(), ManualClock()
    leader = elector(api, clock, "a")
    stopped = asyncio.Event()

    async def lead() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    leading = asyncio.ensure_future(leader.run(lead))
    await eventually(lambda: leader.is_leader and clock.sleepers == 1)
    lease = await api.get(LEASES, "controller", namespace=NS)
    await api.update(LEASES, {**lease, "spec": {**lease["spec"], "holderIdentity": "intruder"}})
    for _ in range(6):
        clock.advance(2)
        await eventually(lambda: leading.done() or clock.sleepers == 1)
    with pytest.raises(LeadershipLost):
        await leading
    assert stopped.is_set()
    assert await holder(api) == "intruder"


async def test_release_leaves_a_lease_that_is_no_longer_ours() -> None:
    api, clock = FakeApi(), ManualClock()
    leader = elector(api, clock, "a")
    leading = asyncio.ensure_future(leader.run(lead_forever))
    await eventually(lambda: leader.is_leader)
    lease = await api.get(LEASES, "controller", namespace=NS)
    await api.update(LEASES, {**lease, "spec": {**lease["spec"], "holderIdentity": "b"}})
    leading.cancel()
    await eventually(lambda: leading.done())
    assert await holder(api) == "b"


async def test_a_write_from_a_stale_read_loses() -> None:
    api, clock = FakeApi(), ManualClock()
    assert await elector(api, clock, "a").try_acquire_or_renew()
    stale = await api.get(LEASES, "controller", namespace=NS)
    clock.advance(1)
    assert await elector(api, clock, "a").try_acquire_or_renew()
    late = elector(api, clock, "b")
    assert not await late._write({**stale, "spec": {**stale["spec"], "holderIdentity": "b"}})
    assert await holder(api) == "a"


class HangingApi(FakeApi):
    """Its reads hang once ``hang`` is set, as an apiserver that stopped answering."""

    hang = False

    async def get(self, *args: Any, **kwargs: Any) -> Obj:
        if self.hang:
            await asyncio.Event().wait()
        return await super().get(*args, **kwargs)


async def test_health_fails_once_a_leader_has_not_renewed_for_its_lease_plus_20s() -> None:
    api, clock = HangingApi(), ManualClock()
    leader = elector(api, clock, "a")
    leading = asyncio.ensure_future(leader.run(lead_forever))
    await eventually(lambda: leader.is_leader and clock.sleepers == 1)
    api.hang = True
    clock.advance(35)
    assert leader.healthy()
    clock.advance(0.1)
    assert not leader.healthy()
    leading.cancel()
    api.hang = False
    await eventually(leading.done)
