"""stats, statsp, metricdescs and metricsp."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable

from cri import domain as d
from cri.crictl.arguments import check_output, parse_labels
from cri.crictl.formats import OUTPUT_FORMATS, domain_data, emit
from cri.crictl.session import CommandError, Session, context
from cri.crictl.tables import Table, human_size, truncate_id
from cri.v1 import api_pb2 as pb

CLEAR_SCREEN = "\x1b[2J\x1b[H"


def _cpu_percent(now: d.CpuUsage | None, before: d.CpuUsage | None) -> float:
    usage = (now.usage_core_nano_seconds or 0) if now else 0
    if not usage or now is None or before is None:
        return 0.0
    duration = now.timestamp - before.timestamp
    if duration == 0:
        raise CommandError("cpu stat is not updated during sample")
    return (usage - (before.usage_core_nano_seconds or 0)) / duration * 100


async def _watch(session: Session, args: argparse.Namespace, once: Callable[[], Awaitable[None]]) -> int:
    """Run ``once``; with ``--watch`` again and again, each time on a cleared screen."""
    while True:
        if args.watch and args.output == "table":
            session.out.write(CLEAR_SCREEN)
        await once()
        session.out.flush()
        if not args.watch:
            return 0


async def stats(session: Session, args: argparse.Namespace) -> int:
    check_output(args.output, ("table", *OUTPUT_FORMATS))
    client = await session.runtime()
    stats_filter = d.ContainerStatsFilter(
        id=args.container or args.id, pod_sandbox_id=args.pod, label_selector=parse_labels(args.label)
    )

    async def sample() -> list[d.ContainerStats]:
        with context("listing container stats"):
            return await client.list_container_stats(stats_filter)

    async def once() -> None:
        first = await sample()
        if args.output != "table":
            data = {"stats": [domain_data(s, pb.ContainerStats) for s in first]}
            emit(data, args.output, args.template, session.out)
            return
        await asyncio.sleep(args.seconds)
        session.out.write(_container_table(first, await sample(), show_all=args.all))

    return await _watch(session, args, once)


def _container_table(before: list[d.ContainerStats], after: list[d.ContainerStats], *, show_all: bool) -> str:
    previous = {s.attributes.id: s for s in before if s.attributes}
    table = Table()
    table.add_row(["CONTAINER", "NAME", "CPU %", "MEM", "DISK", "INODES"])
    for current in after:
        attributes = current.attributes or d.ContainerAttributes()
        cpu = (current.cpu.usage_core_nano_seconds or 0) if current.cpu else 0
        memory = (current.memory.working_set_bytes or 0) if current.memory else 0
        layer = current.writable_layer or d.FilesystemUsage()
        old = previous.get(attributes.id)
        if (not show_all and cpu == 0 and memory == 0) or old is None:
            continue
        table.add_row(
            [
                truncate_id(attributes.id),
                attributes.metadata.name if attributes.metadata else "",
                f"{_cpu_percent(current.cpu, old.cpu):.2f}",
                human_size(memory),
                human_size(layer.used_bytes or 0),
                str(layer.inodes_used or 0),
            ]
        )
    return table.render()


async def statsp(session: Session, args: argparse.Namespace) -> int:
    check_output(args.output, ("table", *OUTPUT_FORMATS))
    client = await session.runtime()
    stats_filter = d.PodSandboxStatsFilter(id=args.pod or args.id, label_selector=parse_labels(args.label))

    async def sample() -> list[d.PodSandboxStats]:
        with context("listing pod sandbox stats"):
            return await client.list_pod_sandbox_stats(stats_filter)

    async def once() -> None:
        first = await sample()
        if args.output != "table":
            data = {"stats": [domain_data(s, pb.PodSandboxStats) for s in first]}
            emit(data, args.output, args.template, session.out)
            return
        await asyncio.sleep(args.seconds)
        session.out.write(_pod_table(first, await sample()))

    return await _watch(session, args, once)


def _pod_table(before: list[d.PodSandboxStats], after: list[d.PodSandboxStats]) -> str:
    previous = {s.attributes.id: s for s in before if s.attributes}
    table = Table()
    table.add_row(["POD", "POD ID", "CPU %", "MEM"])
    for current in after:
        attributes = current.attributes or d.PodSandboxAttributes()
        old = previous.get(attributes.id)
        if old is None:
            continue
        linux, old_linux = current.linux or d.LinuxPodSandboxStats(), old.linux or d.LinuxPodSandboxStats()
        memory = (linux.memory.working_set_bytes or 0) if linux.memory else 0
        table.add_row(
            [
                attributes.metadata.name if attributes.metadata else "",
                truncate_id(attributes.id),
                f"{_cpu_percent(linux.cpu, old_linux.cpu):.2f}",
                human_size(memory),
            ]
        )
    return table.render()


async def metricdescs(session: Session, args: argparse.Namespace) -> int:
    check_output(args.output, OUTPUT_FORMATS)
    client = await session.runtime()
    with context("list metric descriptors"):
        found = await client.list_metric_descriptors()
    data = {"descriptors": [domain_data(m, pb.MetricDescriptor) for m in found]}
    emit(data, args.output, args.template, session.out)
    return 0


async def metricsp(session: Session, args: argparse.Namespace) -> int:
    check_output(args.output, OUTPUT_FORMATS)
    client = await session.runtime()
    with context("list pod sandbox metrics"):
        found = await client.list_pod_sandbox_metrics()
    data = {"podMetrics": [domain_data(m, pb.PodSandboxMetrics) for m in found]}
    emit(data, args.output, args.template, session.out)
    return 0
