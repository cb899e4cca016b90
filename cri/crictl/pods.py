"""runp, stopp, rmp, pods and inspectp."""

from __future__ import annotations

import argparse
import re
from typing import Any

from cri import domain as d
from cri.client import CRIClient
from cri.crictl.arguments import call_timeout, check_output, parse_labels, require_ids
from cri.crictl.formats import OUTPUT_FORMATS, domain_data, emit, status_document
from cri.crictl.session import CommandError, Session, context, quote
from cri.crictl.specs import load_pod_config
from cri.crictl.tables import Table, ago, sorted_pairs, truncate_id
from cri.crictl.timefmt import go_time, rfc3339nano
from cri.v1 import api_pb2 as pb

POD_STATES = {"ready": d.PodSandboxState.SANDBOX_READY, "notready": d.PodSandboxState.SANDBOX_NOTREADY}
POD_STATE_TEXT = {d.PodSandboxState.SANDBOX_READY: "Ready", d.PodSandboxState.SANDBOX_NOTREADY: "NotReady"}


async def runp(session: Session, args: argparse.Namespace) -> int:
    config = load_pod_config(args.pod_config)
    client = await session.runtime()
    with context("run pod sandbox"):
        pod_id = await client.run_pod_sandbox(
            config,
            runtime_handler=args.runtime,
            timeout=call_timeout(args.cancel_timeout, default=2 * session.settings.timeout),
        )
    session.out.write(f"{pod_id}\n")
    return 0


async def _all_pod_ids(client: CRIClient) -> list[str]:
    return [pod.id for pod in await client.list_pod_sandbox()]


async def stopp(session: Session, args: argparse.Namespace) -> int:
    ids = require_ids(args, args.ids, "ID")
    client = await session.runtime()
    for pod_id in ids:
        with context(f"stopping the pod sandbox {quote(pod_id)}"):
            await client.stop_pod_sandbox(pod_id)
        session.out.write(f"Stopped sandbox {pod_id}\n")
    return 0


async def rmp(session: Session, args: argparse.Namespace) -> int:
    client = await session.runtime()
    ids = await _all_pod_ids(client) if args.all else require_ids(args, args.ids, "ID")
    for pod_id in ids:
        if args.force:
            with context(f"stopping the pod sandbox {quote(pod_id)} failed"):
                await client.stop_pod_sandbox(pod_id)
        else:
            with context(f"getting sandbox status of pod {quote(pod_id)}"):
                status = (await client.pod_sandbox_status(pod_id)).status
            if status is not None and status.state == d.PodSandboxState.SANDBOX_READY:
                raise CommandError(f"pod sandbox {quote(pod_id)} is running, please stop it first")
        with context(f"removing the pod sandbox {quote(pod_id)}"):
            await client.remove_pod_sandbox(pod_id)
        session.out.write(f"Removed sandbox {pod_id}\n")
    return 0


def _pod_filter(args: argparse.Namespace) -> d.PodSandboxFilter:
    state = None
    if args.state:
        wanted = POD_STATES.get(args.state.lower())
        if wanted is None:
            raise CommandError("--state should be ready or notready")
        state = d.PodSandboxStateValue(state=wanted)
    return d.PodSandboxFilter(id=args.id, state=state, label_selector=parse_labels(args.label))


def _select(pods: list[d.PodSandbox], args: argparse.Namespace) -> list[d.PodSandbox]:
    name, namespace = re.compile(args.name or ""), re.compile(args.namespace or "")
    chosen = [
        p
        for p in pods
        if name.search(p.metadata.name if p.metadata else "")
        and namespace.search(p.metadata.namespace if p.metadata else "")
    ]
    chosen.sort(key=lambda p: p.created_at, reverse=True)
    count = len(chosen)
    if args.latest:
        count = 1
    if args.last > 0:
        count = args.last
    return chosen[:count]


def runtime_handler_text(handler: str) -> str:
    return handler or "(default)"


async def pods(session: Session, args: argparse.Namespace) -> int:
    check_output(args.output, ("table", *OUTPUT_FORMATS))
    client = await session.runtime()
    with context("listing pod sandboxes"):
        found = _select(await client.list_pod_sandbox(_pod_filter(args)), args)
    if args.output != "table":
        data = {"items": [domain_data(pod, pb.PodSandbox) for pod in found]}
        emit(data, args.output, args.template, session.out)
        return 0
    if args.quiet:
        session.out.write("".join(f"{p.id}\n" for p in found))
        return 0
    if args.verbose:
        for pod in found:
            session.out.write(_verbose_pod(pod, session.now_ns()))
        return 0
    table = Table()
    table.add_row(["POD ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT", "RUNTIME"])
    now = session.now_ns()
    for pod in found:
        meta = pod.metadata or d.PodSandboxMetadata()
        table.add_row(
            [
                pod.id if args.no_trunc else truncate_id(pod.id),
                ago(pod.created_at, now),
                POD_STATE_TEXT.get(pod.state, str(int(pod.state))),
                meta.name,
                meta.namespace,
                str(meta.attempt),
                runtime_handler_text(pod.runtime_handler),
            ]
        )
    table.flush(session.out)
    return 0


def _verbose_pod(pod: d.PodSandbox, now: int) -> str:
    meta = pod.metadata or d.PodSandboxMetadata()
    lines = [f"ID: {pod.id}"]
    named = (("Name", meta.name), ("UID", meta.uid), ("Namespace", meta.namespace))
    lines += [f"{title}: {value}" for title, value in named if value]
    if meta.attempt:
        lines.append(f"Attempt: {meta.attempt}")
    lines += [
        f"Status: {POD_STATE_TEXT.get(pod.state, str(int(pod.state)))}",
        f"Created: {go_time(pod.created_at)}",
    ]
    lines += _mapping_lines("Labels", pod.labels) + _mapping_lines("Annotations", pod.annotations)
    lines.append(f"Runtime: {runtime_handler_text(pod.runtime_handler)}")
    return "\n".join(lines) + "\n\n"


def _mapping_lines(title: str, mapping: Any) -> list[str]:
    if not mapping:
        return []
    return [f"{title}:"] + [f"\t{k} -> {v}" for k, v in sorted_pairs(mapping)]


def pod_status_data(status: d.PodSandboxStatus) -> dict[str, Any]:
    """crictl's marshalPodSandboxStatus: protojson with ``createdAt`` as RFC 3339 time."""
    data = domain_data(status, pb.PodSandboxStatus)
    data["createdAt"] = rfc3339nano(status.created_at)
    return data


async def inspectp(session: Session, args: argparse.Namespace) -> int:
    check_output(args.output, ("table", *OUTPUT_FORMATS))
    ids = require_ids(args, args.ids, "ID")
    client = await session.runtime()
    for pod_id in ids:
        with context(f"getting the pod sandbox status for {quote(pod_id)}"):
            result = await client.pod_sandbox_status(pod_id, verbose=not args.quiet)
        if result.status is None:
            raise CommandError(f"no status for pod sandbox {quote(pod_id)}")
        if args.output == "table":
            session.out.write(_pod_status_table(result, verbose=not args.quiet))
            continue
        document = status_document(pod_status_data(result.status), result.info)
        emit(document, args.output, args.template, session.out)
    return 0


def _pod_status_table(result: d.PodSandboxStatusResult, *, verbose: bool) -> str:
    status = result.status or d.PodSandboxStatus()
    meta = status.metadata or d.PodSandboxMetadata()
    lines = [f"ID: {status.id}"]
    lines += [
        f"{title}: {value}"
        for title, value in (("Name", meta.name), ("UID", meta.uid), ("Namespace", meta.namespace))
        if value
    ]
    lines += [
        f"Attempt: {meta.attempt}",
        f"Status: {status.state.name}",
        f"Created: {go_time(status.created_at)}",
    ]
    if status.network is not None:
        lines.append(f"IP Addresses: {status.network.ip}")
        lines += [f"Additional IP: {ip.ip}" for ip in status.network.additional_ips]
    lines += _mapping_lines("Labels", status.labels) + _mapping_lines("Annotations", status.annotations)
    if verbose and result.info:
        lines.append("Info: map[" + " ".join(f"{k}:{v}" for k, v in sorted_pairs(result.info)) + "]")
    return "\n".join(lines) + "\n"
