"""Fill a local registry with the test images and point containerd, podman and us at it.

Images keep their public names (``docker.io/library/busybox:1.36``...): they are pushed under the
same repository paths into the local registry, and ``certs.d/<host>/hosts.toml`` (containerd, and
our own client) plus an optional registries.conf drop-in (podman) make that registry a mirror of
each public host. Idempotent: a tag that already has the built digest is not pushed again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from shims.oci import catalog
from shims.oci.hosts import write_mirror
from shims.oci.localregistry import RegistrySettings, ensure_registry
from shims.oci.push import push_image, push_index
from shims.oci.reference import parse
from shims.oci.registry import RegistryClient

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class SeedOptions:
    registry: str = "127.0.0.1:5000"
    state_dir: Path = Path("/var/lib/tinykube/registry")
    certs_d: Path | None = Path("/etc/containerd/certs.d")
    registries_conf: Path | None = None
    include_big: bool = True


@dataclass(kw_only=True)
class SeedReport:
    registry_started: bool = False
    pushed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    mirrors_written: list[Path] = field(default_factory=list)


async def seed(options: SeedOptions) -> SeedReport:
    handle = await ensure_registry(RegistrySettings(address=options.registry, state_dir=options.state_dir))
    report = SeedReport(registry_started=handle.started)
    images = await asyncio.to_thread(catalog.seed_images, include_big=options.include_big)
    async with RegistryClient() as client:
        await asyncio.gather(*(_push_one(client, options.registry, image, report) for image in images))
    hosts = sorted({parse(tag).domain for image in images for tag in image.tags})
    if options.certs_d is not None:
        for host in hosts:
            if write_mirror(options.certs_d, host=host, mirror_url=f"http://{options.registry}"):
                report.mirrors_written.append(options.certs_d / host / "hosts.toml")
    conf = options.registries_conf
    if conf is not None and _write_registries_conf(conf, hosts=hosts, mirror=options.registry):
        report.mirrors_written.append(conf)
    return report


async def _push_one(
    client: RegistryClient, registry: str, image: catalog.SeedImage, report: SeedReport
) -> None:
    local_tags = [f"{registry}/{parse(tag).path}:{parse(tag).tag}" for tag in image.tags]
    stale = [
        tag
        for tag in local_tags
        if await client.manifest_digest(parse(tag), credentials=None) != image.digest
    ]
    report.unchanged += [
        tag for tag in image.tags if f"{registry}/{parse(tag).path}:{parse(tag).tag}" not in stale
    ]
    if not stale:
        return
    if image.index is not None:
        await push_index(client, image.index, stale)
    elif image.image is not None:
        await push_image(client, image.image, stale)
    report.pushed += [tag for tag in image.tags if f"{registry}/{parse(tag).path}:{parse(tag).tag}" in stale]
    log.info("pushed %s (%s)", ", ".join(stale), image.digest)


def _write_registries_conf(path: Path, *, hosts: list[str], mirror: str) -> bool:
    text = "# Written by `tinykube images seed`: pull these registries from the local mirror.\n" + "".join(
        f'\n[[registry]]\nprefix = "{host}"\nlocation = "{host}"\n'
        f'[[registry.mirror]]\nlocation = "{mirror}"\ninsecure = true\n'
        for host in hosts
    )
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    temp.write_text(text)
    temp.replace(path)
    return True
