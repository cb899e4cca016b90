"""ImageService: protobuf in, domain calls on the backend, protobuf out."""

from __future__ import annotations

from collections.abc import AsyncIterator

from cri import domain as d
from cri.backend import ImageBackend
from cri.convert import to_proto
from cri.servicer.guard import Guard
from cri.servicer.lists import list_response as _list
from cri.servicer.lists import paged_responses as _pages
from cri.servicer.requests import optional, require_attr, required
from cri.v1 import api_pb2 as pb
from cri.v1 import api_pb2_grpc as pb_grpc


def _image_spec(request: pb.ImageStatusRequest | pb.PullImageRequest | pb.RemoveImageRequest) -> d.ImageSpec:
    spec = required(request, "image", d.ImageSpec)
    require_attr(spec, "image.image")
    return spec


def make_image_servicer(backend: ImageBackend, guard: Guard) -> pb_grpc.ImageServiceServicer:
    """The ImageService over ``backend``; every method is wrapped by ``guard``."""

    class ImageServicer(pb_grpc.ImageServiceServicer):
        @guard.unary()
        async def ListImages(self, request: pb.ListImagesRequest) -> pb.ListImagesResponse:
            items = await backend.list_images(optional(request, "filter", d.ImageFilter))
            return _list(items, pb.ListImagesResponse, "images", pb.Image)

        @guard.stream()
        async def StreamImages(
            self, request: pb.StreamImagesRequest
        ) -> AsyncIterator[pb.StreamImagesResponse]:
            items = await backend.list_images(optional(request, "filter", d.ImageFilter))
            for page in _pages(items, pb.StreamImagesResponse, "images", pb.Image):
                yield page

        @guard.unary()
        async def ImageStatus(self, request: pb.ImageStatusRequest) -> pb.ImageStatusResponse:
            result = await backend.image_status(_image_spec(request), verbose=request.verbose)
            return to_proto(result, pb.ImageStatusResponse)

        @guard.unary(mutating=True)
        async def PullImage(self, request: pb.PullImageRequest) -> pb.PullImageResponse:
            image_ref = await backend.pull_image(
                _image_spec(request),
                optional(request, "auth", d.AuthConfig),
                optional(request, "sandbox_config", d.PodSandboxConfig),
            )
            return pb.PullImageResponse(image_ref=image_ref)

        @guard.unary(mutating=True)
        async def RemoveImage(self, request: pb.RemoveImageRequest) -> pb.RemoveImageResponse:
            await backend.remove_image(_image_spec(request))
            return pb.RemoveImageResponse()

        @guard.unary()
        async def ImageFsInfo(self, request: pb.ImageFsInfoRequest) -> pb.ImageFsInfoResponse:
            return to_proto(await backend.image_fs_info(), pb.ImageFsInfoResponse)

    return ImageServicer()
