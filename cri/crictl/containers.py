"""ps, create, start, stop, rm, inspect, update, run and checkpoint."""

from __future__ import annotations

import argparse
import glob
import os
import re
from typing import Any

from cri import domain as d
from cri.client import CRIClient
from cri.crictl.arguments import call_timeout, check_output, parse_labels, require_ids
from cri.crictl.formats import OUTPUT_FORMATS, domain_data, emit, status_document
from cri.crictl.images import pull_for_container
from cri.crictl.session import CommandError, Session, context, quote, rpc_text
from cri.crictl.specs import load_container_config, load_pod_config
from cri.crictl.tables import (
    Table,
    ago,
    pod_name_of,
    pod_namespace_of,
    sorted_pairs,
    truncate_id,
    truncate_image,
)
from cri.crictl.timefmt import go_time, rfc3339nano
from cri.errors import CRIError
from cri.v1 import api_pb2 as pb

STATE = d.ContainerState
STATE_TEXT = {
    STATE.CONTAINER_CREATED: "Created",
    STATE.CONTAINER_RUNNING: "Running",
    STATE.CONTAINER_EXITED: "Exited",
    STATE.CONTAINER_UNKNOWN: "Unknown",
}
STATE_NAMES = {
    "created": STATE.CONTAINER_CREATED,
    "running": STATE.CONTAINER_RUNNING,
    "exited": STATE.CONTAINER_EXITED,
    "unknown": STATE.CONTAINER_UNKNOWN,
}
_RAM = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?$", re.I)


# create / run / start / stop / rm


async def _create(session: Session, args: argparse.Namespace, pod_id: str, *, pull: bool) -> str:
    config = load_container_config(args.container_config)
    pod_config = load_pod_config(args.pod_config)
    if config.image is None or not config.image.image:
        raise CommandError(f"container config {quote(args.container_config)} names no image")
    if pull:
        await pull_for_container(session, args, config.image.image, pod_config)
    client = await session.runtime()
    with context("creating container"):
        return await client.create_container(
            pod_id,
            config,
            pod_config,
            timeout=call_timeout(args.cancel_timeout, default=session.settings.timeout),
        )


async def create(session: Session, args: argparse.Namespace) -> int:
    pull = (args.with_pull or session.settings.pull_image_on_create) and not args.no_pull
    container_id = await _create(session, args, args.pod, pull=pull)
    session.out.write(f"{container_id}\n")
    return 0


async def run(session: Session, args: argparse.Namespace) -> int:
    pod_config = load_pod_config(args.pod_config)
    client = await session.runtime()
    with context("run pod sandbox"):
        pod_id = await client.run_pod_sandbox(
            pod_config,
            runtime_handler=args.runtime,
            timeout=call_timeout(args.cancel_timeout, default=2 * session.settings.timeout),
        )
    pull = (args.with_pull or not session.settings.disable_pull_on_run) and not args.no_pull
    container_id = await _create(session, args, pod_id, pull=pull)
    with context("starting the container"):
        await client.start_container(container_id)
    session.out.write(f"{container_id}\n")
    return 0


async def start(session: Session, args: argparse.Namespace) -> int:
    client = await session.runtime()
    for container_id in require_ids(args, args.ids, "ID"):
        with context(f"starting the container {quote(container_id)}"):
            await client.start_container(container_id)
        session.out.write(f"{container_id}\n")
    return 0


async def stop(session: Session, args: argparse.Namespace) -> int:
    client = await session.runtime()
    for container_id in require_ids(args, args.ids, "ID"):
        with context(f"stopping the container {quote(container_id)}"):
            await client.stop_container(container_id, grace_seconds=args.timeout)
        session.out.write(f"{container_id}\n")
    return 0


async def rm(session: Session, args: argparse.Namespace) -> int:
    client = await session.runtime()
    ids = [c.id for c in await client.list_containers()] if args.all else require_ids(args, args.ids, "ID")
    failed = False
    for container_id in ids:
        try:
            await _remove_one(session, client, container_id, force=args.force, keep_logs=args.keep_logs)
        except CommandError as exc:
            session.log("error", exc.message)
            failed = True
    if failed:
        raise CommandError("unable to remove container(s)")
    return 0


async def _remove_one(
    session: Session, client: CRIClient, container_id: str, *, force: bool, keep_logs: bool
) -> None:
    with context(f"getting the status of the container {quote(container_id)}"):
        status = (await client.container_status(container_id)).status or d.ContainerStatus()
    if status.state == STATE.CONTAINER_RUNNING:
        if not force:
            raise CommandError(f"container {quote(container_id)} is running, please stop it first")
        with context(f"stopping the container {quote(container_id)}"):
            await client.stop_container(container_id, grace_seconds=0)
    with context(f"removing container {quote(container_id)}"):
        await client.remove_container(container_id)
    if not keep_logs and status.log_path:
        for log_file in glob.glob(glob.escape(status.log_path) + "*"):
            try:
                os.remove(log_file)
            except OSError as exc:
                session.log("error", f"removing the log file {quote(log_file)}: {exc.strerror}")
    session.out.write(f"{container_id}\n")


# ps


def _container_filter(args: argparse.Namespace) -> d.ContainerFilter:
    state_name = args.state.lower() if args.state else ("" if args.all else "running")
    state = None
    if state_name:
        if state_name not in STATE_NAMES:
            raise CommandError("--state should be one of created, running, exited or unknown")
        state = d.ContainerStateValue(state=STATE_NAMES[state_name])
    return d.ContainerFilter(
        id=args.id, state=state, pod_sandbox_id=args.pod, label_selector=parse_labels(args.label)
    )


async def _matches_image(client: CRIClient, wanted: str, image: str) -> bool:
    if not wanted or not image:
        return True
    first = await client.image_status(wanted)
    second = await client.image_status(image)
    return first.image is not None and second.image is not None and first.image.id == second.image.id


async def _select(client: CRIClient, found: list[d.Container], args: argparse.Namespace) -> list[d.Container]:
    name, namespace = re.compile(args.name or ""), re.compile(args.namespace or "")
    chosen = []
    for container in found:
        if not name.search(container.metadata.name if container.metadata else ""):
            continue
        if args.namespace and not namespace.search(pod_namespace_of(container.labels)):
            continue
        image = container.image.image if container.image else ""
        if args.image:
            with context("matching image"):
                if not await _matches_image(client, args.image, image):
                    continue
        chosen.append(container)
    chosen.sort(key=lambda c: c.created_at, reverse=True)
    count = 1 if args.latest else len(chosen)
    if args.last > 0:
        count = args.last
    return chosen[:count]


async def ps(session: Session, args: argparse.Namespace) -> int:
    check_output(args.output, ("table", *OUTPUT_FORMATS))
    client = await session.runtime()
    with context("listing containers"):
        found = await _select(client, await client.list_containers(_container_filter(args)), args)
    if args.output != "table":
        data = {"containers": [domain_data(c, pb.Container) for c in found]}
        emit(data, args.output, args.template, session.out)
        return 0
    if args.quiet:
        session.out.write("".join(f"{c.id}\n" for c in found))
        return 0
    if args.verbose:
        session.out.write("".join(_verbose_container(c) for c in found))
        return 0
    table = Table()
    table.add_row(["CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID", "POD", "NAMESPACE"])
    now = session.now_ns()
    for container in found:
        table.add_row(await _ps_row(session, client, container, args, now))
    table.flush(session.out)
    return 0


async def _ps_row(
    session: Session, client: CRIClient, container: d.Container, args: argparse.Namespace, now: int
) -> list[str]:
    image = container.image.image if container.image else ""
    if args.resolve_image_path:
        with context(f"failed to fetch repo image {quote(image)}"):
            status = await client.image_status(image)
        if status.image is not None and status.image.repo_tags:
            image = status.image.repo_tags[0]
    container_id, pod_id = container.id, container.pod_sandbox_id
    if not args.no_trunc:
        container_id, pod_id, image = truncate_id(container_id), truncate_id(pod_id), truncate_image(image)
    meta = container.metadata or d.ContainerMetadata()
    return [
        container_id,
        image,
        ago(container.created_at, now),
        STATE_TEXT.get(container.state, "Unknown"),
        meta.name,
        str(meta.attempt),
        pod_id,
        pod_name_of(container.labels),
        pod_namespace_of(container.labels),
    ]


def _verbose_container(container: d.Container) -> str:
    meta = container.metadata or d.ContainerMetadata()
    lines = [f"ID: {container.id}", f"PodID: {container.pod_sandbox_id}"]
    if meta.name:
        lines.append(f"Name: {meta.name}")
    lines.append(f"Attempt: {meta.attempt}")
    lines.append(f"State: {STATE_TEXT.get(container.state, 'Unknown')}")
    if container.image is not None:
        lines.append(f"Image: {container.image.image}")
    lines.append(f"Created: {go_time(container.created_at)}")
    lines += _mapping_lines("Labels", container.labels) + _mapping_lines("Annotations", container.annotations)
    return "\n".join(lines) + "\n\n"


def _mapping_lines(title: str, mapping: Any) -> list[str]:
    if not mapping:
        return []
    return [f"{title}:"] + [f"\t{k} -> {v}" for k, v in sorted_pairs(mapping)]


# inspect


def container_status_data(status: d.ContainerStatus) -> dict[str, Any]:
    """crictl's marshalContainerStatus: protojson with the three times as RFC 3339 text."""
    data = domain_data(status, pb.ContainerStatus)
    state = status.state
    data["createdAt"] = rfc3339nano(status.created_at)
    started = status.started_at if state != STATE.CONTAINER_CREATED else None
    exited = state == STATE.CONTAINER_EXITED or (state == STATE.CONTAINER_UNKNOWN and status.finished_at > 0)
    data["startedAt"] = rfc3339nano(started)
    data["finishedAt"] = rfc3339nano(status.finished_at if exited else None)
    return data


async def inspect(session: Session, args: argparse.Namespace) -> int:
    check_output(args.output, ("table", *OUTPUT_FORMATS))
    client = await session.runtime()
    for container_id in require_ids(args, args.ids, "ID"):
        with context(f"getting the status of the container {quote(container_id)}"):
            result = await client.container_status(container_id, verbose=not args.quiet)
        if result.status is None:
            raise CommandError(f"no status for container {quote(container_id)}")
        if args.output == "table":
            session.out.write(_status_table(result.status, session.now_ns()))
            continue
        document = status_document(container_status_data(result.status), result.info)
        emit(document, args.output, args.template, session.out)
    return 0


def _status_table(status: d.ContainerStatus, now: int) -> str:
    meta = status.metadata or d.ContainerMetadata()
    lines = [f"ID: {status.id}"]
    if meta.name:
        lines.append(f"Name: {meta.name}")
    if meta.attempt:
        lines.append(f"Attempt: {meta.attempt}")
    lines += [f"State: {status.state.name}", f"Created: {ago(status.created_at, now)}"]
    if status.state != STATE.CONTAINER_CREATED:
        lines.append(f"Started: {ago(status.started_at, now)}")
    if status.state == STATE.CONTAINER_EXITED:
        if status.finished_at > 0:
            lines.append(f"Finished: {ago(status.finished_at, now)}")
        lines.append(f"Exit Code: {status.exit_code}")
    lines += _mapping_lines("Labels", status.labels) + _mapping_lines("Annotations", status.annotations)
    return "\n".join(lines) + "\n"


# update / checkpoint


def ram_in_bytes(text: str) -> int:
    """go-units RAMInBytes: ``512m`` = 512 MiB; binary multiples, optional ``b``/``ib`` suffix."""
    match = _RAM.match(text.strip())
    if match is None:
        raise CommandError(f"invalid size: {quote(text)}")
    power = " kmgtp".index(match.group(2).lower() or " ")
    return int(float(match.group(1)) * 1024**power)


async def update(session: Session, args: argparse.Namespace) -> int:
    resources = d.LinuxContainerResources(
        cpu_period=args.cpu_period,
        cpu_quota=args.cpu_quota,
        cpu_shares=args.cpu_share,
        cpuset_cpus=args.cpuset_cpus,
        cpuset_mems=args.cpuset_mems,
        memory_limit_in_bytes=ram_in_bytes(args.memory) if args.memory else 0,
    )
    client = await session.runtime()
    for container_id in require_ids(args, args.ids, "ID"):
        with context(f"updating container resources for {quote(container_id)}"):
            await client.update_container_resources(container_id, resources)
        session.out.write(f"{container_id}\n")
    return 0


async def checkpoint(session: Session, args: argparse.Namespace) -> int:
    client = await session.runtime()
    for container_id in require_ids(args, args.ids, "ID"):
        try:
            await client.checkpoint_container(container_id, args.export)
        except CRIError as exc:
            raise CommandError(
                f"checkpointing the container {quote(container_id)} failed: {rpc_text(exc)}"
            ) from None
        session.out.write(f"{container_id}\n")
    return 0
