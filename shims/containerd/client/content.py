"""containerd's content store: blobs by digest, written through resumable ingests.

A write is STAT (containerd answers how much of the ingest ``ref`` it already has), WRITE chunks from
that offset, then COMMIT with the total and the expected digest, which containerd verifies. Content
that already exists answers ALREADY_EXISTS, which is success.
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import grpc
from google.protobuf.empty_pb2 import Empty
from google.protobuf.field_mask_pb2 import FieldMask

from cri.errors import AlreadyExists, CRIError, Internal
from shims.containerd._gen.services.content.v1 import content_pb2 as pb
from shims.containerd.client.connection import Connection, guarded, method_path, read_reply
from shims.containerd.client.types import ContentInfo
from shims.oci.content import Descriptor

CHUNK_BYTES = 256 * 1024
UNANSWERED_WRITES = 64

Source = Callable[[int], AsyncIterator[bytes]]
"""The bytes of a blob from the given offset on (a resumed ingest starts past its first bytes)."""


def _path(method: str) -> str:
    return method_path(pb.DESCRIPTOR, "Content", method)


def _info(message: pb.Info) -> ContentInfo:
    return ContentInfo(digest=message.digest, size=message.size, labels=dict(message.labels))


class Content:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def info(self, digest: str) -> ContentInfo:
        reply = await self._connection.unary(_path("Info"), pb.InfoRequest(digest=digest), pb.InfoResponse)
        return _info(reply.info)

    async def list(self, *filters: str) -> list[ContentInfo]:
        request = pb.ListContentRequest(filters=list(filters))
        stream = self._connection.server_stream(_path("List"), request, pb.ListContentResponse)
        return [_info(info) async for reply in stream for info in reply.info]

    async def delete(self, digest: str) -> None:
        await self._connection.unary(_path("Delete"), pb.DeleteContentRequest(digest=digest), Empty)

    async def set_labels(self, digest: str, labels: Mapping[str, str]) -> ContentInfo:
        """Set (or with an empty value, remove) the given labels, leaving the others."""
        request = pb.UpdateRequest(
            info=pb.Info(digest=digest, labels={k: v for k, v in labels.items() if v}),
            update_mask=FieldMask(paths=[f"labels.{key}" for key in labels]),
        )
        reply = await self._connection.unary(_path("Update"), request, pb.UpdateResponse)
        return _info(reply.info)

    async def read(self, digest: str, *, offset: int = 0) -> AsyncIterator[bytes]:
        request = pb.ReadContentRequest(digest=digest, offset=offset)
        async for reply in self._connection.server_stream(_path("Read"), request, pb.ReadContentResponse):
            yield reply.data

    async def read_all(self, digest: str) -> bytes:
        return b"".join([chunk async for chunk in self.read(digest)])

    async def ingests(self) -> builtins.list[str]:
        """The refs of writes in progress (a resumable ingest each)."""
        reply = await self._connection.unary(
            _path("ListStatuses"), pb.ListStatusesRequest(), pb.ListStatusesResponse
        )
        return [status.ref for status in reply.statuses]

    async def abort(self, ref: str) -> None:
        await self._connection.unary(_path("Abort"), pb.AbortRequest(ref=ref), Empty)

    async def write(
        self, ref: str, expected: Descriptor, source: Source, *, labels: Mapping[str, str] | None = None
    ) -> bool:
        """Write the blob ``expected`` describes under the ingest ``ref``, resuming where an earlier
        write of ``ref`` stopped. Returns False when containerd already had the blob."""
        call = self._connection.bidi(_path("Write"), pb.WriteContentResponse)
        try:
            await _write(call, ref, expected, source, dict(labels or {}))
        except AlreadyExists:
            return False
        finally:
            call.cancel()
        return True


async def _write(
    call: grpc.aio.StreamStreamCall[Any, Any],
    ref: str,
    expected: Descriptor,
    source: Source,
    labels: dict[str, str],
) -> None:
    async def exchange(request: pb.WriteContentRequest) -> pb.WriteContentResponse:
        await guarded(call.write(request))
        return await read_reply(call, pb.WriteContentResponse)

    def request(
        action: int, offset: int, data: bytes = b"", labels: Mapping[str, str] | None = None
    ) -> pb.WriteContentRequest:
        return pb.WriteContentRequest(
            action=action,  # type: ignore[arg-type]
            ref=ref,
            total=expected.size,
            expected=expected.digest,
            offset=offset,
            data=data,
            labels=labels,
        )

    offset = (await exchange(request(pb.STAT, 0))).offset
    unanswered = 0  # WRITEs go out without waiting for each answer, at most UNANSWERED_WRITES ahead
    try:
        async for piece in _coalesced(source(offset)):
            await guarded(call.write(request(pb.WRITE, offset, piece)))
            offset, unanswered = offset + len(piece), unanswered + 1
            if unanswered > UNANSWERED_WRITES:
                await read_reply(call, pb.WriteContentResponse)
                unanswered -= 1
    except Exception:  # the source failed: what was sent is in containerd for a resumed write
        with contextlib.suppress(CRIError):
            for _ in range(unanswered):
                await read_reply(call, pb.WriteContentResponse)
        raise
    for _ in range(unanswered):
        await read_reply(call, pb.WriteContentResponse)
    if offset != expected.size:
        raise Internal(f"blob {expected.digest}: source gave {offset} of its {expected.size} bytes")
    await exchange(request(pb.COMMIT, offset, labels=labels))


async def _coalesced(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The bytes of ``chunks`` in pieces of CHUNK_BYTES (the last one shorter): fewer, fuller messages."""
    buffer = bytearray()
    async for chunk in chunks:
        buffer += chunk
        while len(buffer) >= CHUNK_BYTES:
            yield bytes(buffer[:CHUNK_BYTES])
            del buffer[:CHUNK_BYTES]
    if buffer:
        yield bytes(buffer)
