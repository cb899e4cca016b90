"""version, info, runtime-config and update-runtime-config."""

from __future__ import annotations

import argparse

from cri import domain as d
from cri.crictl.arguments import check_output
from cri.crictl.formats import OUTPUT_FORMATS, domain_data, emit, go_struct_data, status_document
from cri.crictl.session import Session, context
from cri.v1 import api_pb2 as pb


async def version(session: Session, args: argparse.Namespace) -> int:
    client = await session.runtime()
    with context("getting the runtime version"):
        result = await client.version()
    if args.output in ("", "table"):
        session.out.write(
            f"Version:  {result.version}\nRuntimeName:  {result.runtime_name}\n"
            f"RuntimeVersion:  {result.runtime_version}\nRuntimeApiVersion:  {result.runtime_api_version}\n"
        )
        return 0
    check_output(args.output, OUTPUT_FORMATS)
    emit(domain_data(result, pb.VersionResponse), args.output, args.template, session.out)
    return 0


async def info(session: Session, args: argparse.Namespace) -> int:
    check_output(args.output, OUTPUT_FORMATS)
    client = await session.runtime()
    with context("get the status of runtime"):
        result = await client.status(verbose=not args.quiet)
    status = domain_data(result.status, pb.RuntimeStatus) if result.status else None
    # crictl marshals handlers and features as Go structs (snake_case, empty fields left out)
    handlers = [go_struct_data(h) for h in result.runtime_handlers]
    features = go_struct_data(result.features) if result.features is not None else None
    document = status_document(status, result.info, runtime_handlers=handlers, features=features)
    emit(document, args.output, args.template, session.out)
    return 0


async def runtime_config(session: Session, args: argparse.Namespace) -> int:
    check_output(args.output, OUTPUT_FORMATS)
    client = await session.runtime()
    with context("get runtime config"):
        result = await client.runtime_config()
    emit(domain_data(result, pb.RuntimeConfigResponse), args.output, args.template, session.out)
    return 0


async def update_runtime_config(session: Session, args: argparse.Namespace) -> int:
    client = await session.runtime()
    config = d.RuntimeConfig(network_config=d.NetworkConfig(pod_cidr=args.pod_cidr))
    with context("update runtime config"):
        await client.update_runtime_config(config)
    session.out.write("Runtime config successfully updated\n")
    return 0
