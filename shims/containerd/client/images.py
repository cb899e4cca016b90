"""containerd's image service: names pointing at manifests, with labels."""

from __future__ import annotations

from google.protobuf.empty_pb2 import Empty
from google.protobuf.field_mask_pb2 import FieldMask

from shims.containerd._gen.services.images.v1 import images_pb2 as pb
from shims.containerd.client.connection import Connection, method_path
from shims.containerd.client.types import (
    ImageRecord,
    descriptor_from_proto,
    descriptor_to_proto,
    time_from_proto,
)


def _path(method: str) -> str:
    return method_path(pb.DESCRIPTOR, "Images", method)


def _record(message: pb.Image) -> ImageRecord:
    return ImageRecord(
        name=message.name,
        target=descriptor_from_proto(message.target),
        labels=dict(message.labels),
        created_at=time_from_proto(message.created_at),
        updated_at=time_from_proto(message.updated_at),
    )


def _message(record: ImageRecord) -> pb.Image:
    return pb.Image(name=record.name, target=descriptor_to_proto(record.target), labels=dict(record.labels))


class Images:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def get(self, name: str) -> ImageRecord:
        reply = await self._connection.unary(_path("Get"), pb.GetImageRequest(name=name), pb.GetImageResponse)
        return _record(reply.image)

    async def list(self, *filters: str) -> list[ImageRecord]:
        request = pb.ListImagesRequest(filters=list(filters))
        reply = await self._connection.unary(_path("List"), request, pb.ListImagesResponse)
        return [_record(image) for image in reply.images]

    async def create(self, record: ImageRecord) -> ImageRecord:
        request = pb.CreateImageRequest(image=_message(record))
        reply = await self._connection.unary(_path("Create"), request, pb.CreateImageResponse)
        return _record(reply.image)

    async def update(self, record: ImageRecord) -> ImageRecord:
        """Replace the target and labels of the image named ``record.name``."""
        request = pb.UpdateImageRequest(
            image=_message(record), update_mask=FieldMask(paths=["target", "labels"])
        )
        reply = await self._connection.unary(_path("Update"), request, pb.UpdateImageResponse)
        return _record(reply.image)

    async def delete(self, name: str, *, sync: bool = False) -> None:
        """Delete the record; with ``sync`` containerd collects its unreferenced content first."""
        await self._connection.unary(_path("Delete"), pb.DeleteImageRequest(name=name, sync=sync), Empty)
