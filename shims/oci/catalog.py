"""The test images tinykube seeds into its local registry, built from busybox-static and catatonit."""

from __future__ import annotations

import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

from shims.oci.builder import (
    BuiltImage,
    BuiltIndex,
    Entry,
    ImageRecipe,
    build_image,
    build_index,
    directory,
    file,
    host_file,
    symlink,
)  # fmt: skip

BUSYBOX = Path("/bin/busybox")
CATATONIT = Path("/usr/bin/catatonit")
BIG_LAYERS = 5
BIG_LAYER_BYTES = 10 * 1024 * 1024

PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
app:x:1234:5678:app user:/home/app:/bin/sh
"""
GROUP = """root:x:0:
daemon:x:1:
nogroup:x:65534:
www-data:x:33:
appgroup:x:5678:app
extra:x:4321:app
"""
BUSYBOX_TAGS = (
    "docker.io/library/busybox:1.36",
    "docker.io/library/busybox:latest",
    "docker.io/library/busybox:1.28",
    "registry.k8s.io/busybox:1.27.2",
)
PAUSE_TAGS = ("registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.8")
WEB_TAGS = (
    "docker.io/tinykube/web:latest",
    "registry.k8s.io/e2e-test-images/busybox:1.29-2",
    "registry.k8s.io/e2e-test-images/nginx:1.14-2",
    "docker.io/library/nginx:1.14.2",
    "docker.io/library/nginx:latest",
)
BIG_TAG = "docker.io/tinykube/big:50mb"
MULTIARCH_TAG = "docker.io/tinykube/multiarch:latest"
IN_USE_TAG = "docker.io/tinykube/in-use:latest"  # removed while a container runs it: no other user
INDEX_HTML = "<html><body><h1>tinykube web</h1></body></html>\n"


@dataclass(frozen=True, kw_only=True, slots=True)
class SeedImage:
    tags: tuple[str, ...]
    image: BuiltImage | None = None
    index: BuiltIndex | None = None

    @property
    def digest(self) -> str:
        built = self.index.descriptor if self.index else self.image.manifest if self.image else None
        assert built is not None
        return built.digest


def busybox_entries() -> list[Entry]:
    applets = subprocess.run(
        [str(BUSYBOX), "--list-full"], check=True, capture_output=True, text=True, timeout=10
    ).stdout.split()
    entries = [host_file("bin/busybox", BUSYBOX, mode=0o755)]
    entries += [symlink(path, "/bin/busybox") for path in applets if path != "bin/busybox"]
    entries += [
        file("etc/passwd", PASSWD), file("etc/group", GROUP), file("etc/hostname", "tinykube\n"),
        directory("tmp", mode=0o1777), directory("root", mode=0o700), directory("home/app"),
        directory("var/www"), directory("proc"), directory("sys"), directory("dev"),
    ]  # fmt: skip
    return entries


def _busybox(**config: object) -> BuiltImage:
    return build_image(ImageRecipe(layers=(tuple(busybox_entries()),), cmd=("sh",), **config))  # type: ignore[arg-type]


def _labelled(name: str, **config: object) -> BuiltImage:
    """A busybox image with one more small layer, so each is a distinct image (distinct id)."""
    extra = (file(f"etc/tinykube-{name}", f"{name}\n"),)
    recipe = ImageRecipe(
        layers=(tuple(busybox_entries()), extra),
        cmd=("sh",),
        labels={"io.tinykube.image": name},
        **config,  # type: ignore[arg-type]
    )
    return build_image(recipe)


def _pause() -> BuiltImage:
    layer = (host_file("pause", CATATONIT, mode=0o755),)
    return build_image(ImageRecipe(layers=(layer,), entrypoint=("/pause", "-P"), user="65535:65535"))


def _web() -> BuiltImage:
    return build_image(ImageRecipe(
        layers=(tuple(busybox_entries()), (file("www/index.html", INDEX_HTML),)),
        cmd=("httpd", "-f", "-v", "-p", "80", "-h", "/www"), exposed_ports=("80/tcp",),
        labels={"io.tinykube.image": "web"},
    ))  # fmt: skip


def big_image(*, layers: int = BIG_LAYERS, layer_bytes: int = BIG_LAYER_BYTES) -> BuiltImage:
    """A ~50 MB multi-layer image of incompressible (seeded, so reproducible) data, for benchmarks."""
    generator = random.Random(20261128)
    data_layers = tuple(
        (file(f"data/layer{n}.bin", generator.randbytes(layer_bytes)),) for n in range(layers)
    )
    return build_image(ImageRecipe(layers=(tuple(busybox_entries()), *data_layers), cmd=("sh",)))


def _multiarch() -> BuiltIndex:
    amd64 = _labelled("multiarch-amd64")
    arm64 = build_image(ImageRecipe(
        layers=((file("etc/tinykube-arch", "arm64\n"),),), cmd=("sh",), architecture="arm64",
    ))  # fmt: skip
    return build_index([(arm64, "linux", "arm64"), (amd64, "linux", "amd64")])


def seed_images(*, include_big: bool = True) -> list[SeedImage]:
    web = _web()
    images = [
        SeedImage(tags=BUSYBOX_TAGS, image=_busybox()),
        SeedImage(tags=PAUSE_TAGS, image=_pause()),
        SeedImage(tags=WEB_TAGS, image=web),
        SeedImage(tags=("docker.io/tinykube/user-uid:latest",), image=_labelled("user-uid", user="1234")),
        SeedImage(tags=("docker.io/tinykube/user-name:latest",), image=_labelled("user-name", user="app")),
        SeedImage(tags=("docker.io/tinykube/user-uid-gid:latest",),
                  image=_labelled("user-uid-gid", user="1234:5678")),
        SeedImage(tags=("docker.io/tinykube/user-name-group:latest",),
                  image=_labelled("user-name-group", user="app:appgroup")),
        SeedImage(tags=("docker.io/tinykube/multitag:one", "docker.io/tinykube/multitag:two",
                        "docker.io/tinykube/multitag:three"), image=_labelled("multitag")),
        *(SeedImage(tags=(f"docker.io/tinykube/distinct-{n}:latest",), image=_labelled(f"distinct-{n}"))
          for n in range(1, 4)),
        SeedImage(tags=(IN_USE_TAG,), image=_labelled("in-use")),
        SeedImage(tags=(MULTIARCH_TAG,), index=_multiarch()),
    ]  # fmt: skip
    if include_big:
        images.append(SeedImage(tags=(BIG_TAG,), image=big_image()))
    return images
