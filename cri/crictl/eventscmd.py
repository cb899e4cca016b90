"""events: stream GetContainerEvents, one document per event, until interrupted."""

from __future__ import annotations

import argparse

from cri.crictl.arguments import check_output
from cri.crictl.formats import OUTPUT_FORMATS, domain_data, emit
from cri.crictl.session import Session, context
from cri.v1 import api_pb2 as pb


async def events(session: Session, args: argparse.Namespace) -> int:
    check_output(args.output, OUTPUT_FORMATS)
    client = await session.runtime()
    with context("failed to get container events"):
        async for event in client.container_events():
            emit(domain_data(event, pb.ContainerEventResponse), args.output, args.template, session.out)
            session.out.flush()
    return 0
