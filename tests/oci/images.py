"""Small images built for the OCI integration tests, and a helper that pushes them."""

from __future__ import annotations

from shims.oci.auth import Credentials
from shims.oci.builder import BuiltImage, ImageRecipe, build_image, file
from shims.oci.push import push_image
from shims.oci.registry import RegistryClient


def small_image(name: str, *, user: str = "", extra_bytes: int = 0) -> BuiltImage:
    base = (
        file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1234:5678::/home/app:/bin/sh\n"),
        file("etc/group", "root:x:0:\nappgroup:x:5678:app\n"),
        file("etc/name", f"{name}\n"),
    )
    top = (file("data/blob", b"\x01" * extra_bytes),) if extra_bytes else (file("etc/top", name),)
    return build_image(
        ImageRecipe(layers=(base, top), cmd=("/bin/app", name), user=user, working_dir="/data")
    )


async def push(image: BuiltImage, *refs: str, credentials: Credentials | None = None) -> str:
    async with RegistryClient() as client:
        return await push_image(client, image, refs, credentials=credentials)
