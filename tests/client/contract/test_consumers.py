"""The library's consumers over each target: an informer follows changes, leader election stays exclusive."""

from __future__ import annotations

import asyncio

from api.client.clock import ManualClock
from api.client.informer import EventHandler, Informer
from api.client.leaderelection import LeaderElectionConfig, LeaderElector
from api.client.protocol import Api
from api.client.resources import CONFIGMAPS, LEASES
from api.client.types import Selectors
from tests.client.contract.test_crud import NS, configmap, unique
from tests.client.polling import eventually


async def test_an_informer_syncs_then_follows_adds_updates_and_deletes(api: Api) -> None:
    tag = unique("t")
    first = await api.create(CONFIGMAPS, configmap(unique("cm"), {"tag": tag}, v="1"))
    events: list[tuple[str, str]] = []
    informer = Informer(api, CONFIGMAPS, namespace=NS, selectors=Selectors(labels=f"tag={tag}"))
    informer.add_handler(
        EventHandler(
            on_add=lambda o: events.append(("add", o["data"].get("v", ""))),
            on_update=lambda old, new: events.append(("update", f"{old['data']['v']}->{new['data']['v']}")),
            on_delete=lambda o: events.append(("delete", o["data"]["v"])),
        )
    )
    async with asyncio.TaskGroup() as tasks:
        running = tasks.create_task(informer.run())
        await asyncio.wait_for(informer.wait_synced(), 10)
        await api.update(CONFIGMAPS, {**first, "data": {"v": "2"}})
        await api.delete(CONFIGMAPS, first["metadata"]["name"], namespace=NS)
        await eventually(lambda: len(events) == 3, within_s=10)
        running.cancel()
    assert events == [("add", "1"), ("update", "1->2"), ("delete", "2")]


async def test_only_one_candidate_holds_the_lease(api: Api) -> None:
    clock = ManualClock()
    name = unique("lease")

    def candidate(identity: str) -> LeaderElector:
        return LeaderElector(
            api, LeaderElectionConfig(lease_name=name, namespace=NS, identity=identity), clock=clock
        )

    first, second = candidate("a"), candidate("b")
    assert await first.try_acquire_or_renew()
    assert not await second.try_acquire_or_renew()
    clock.advance(5)
    assert await first.try_acquire_or_renew()
    lease = await api.get(LEASES, name, namespace=NS)
    assert lease["spec"]["holderIdentity"] == "a"
    assert lease["spec"]["leaseDurationSeconds"] == 15
