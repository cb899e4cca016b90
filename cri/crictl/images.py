"""pull, images, inspecti, rmi and imagefsinfo (and the pull that create/run may do first)."""

from __future__ import annotations

import argparse
import asyncio
import fnmatch
import time
from typing import Any

from cri import domain as d
from cri.crictl.arguments import call_timeout, check_output, require_ids
from cri.crictl.formats import OUTPUT_FORMATS, domain_data, emit, status_document
from cri.crictl.session import CommandError, Session, context, quote
from cri.crictl.specs import load_pod_config
from cri.crictl.tables import Table, human_size, truncate_id
from cri.v1 import api_pb2 as pb

NONE = "<none>"
SIZE_PRECISION = 3
PROGRESS_INTERVAL = 0.5


# credentials and pulling


def _ask_password(session: Session, username: str) -> str:
    if session.stdin.isatty():
        import getpass

        return getpass.getpass(f"Enter password for {username}: ")
    return session.stdin.readline().rstrip("\n")


def auth_config(session: Session, args: argparse.Namespace) -> d.AuthConfig | None:
    """crictl's getAuth from ``--creds``, ``--auth`` or ``--username`` (password prompted)."""
    if args.username:
        if args.creds or args.auth:
            raise CommandError("--username can't be used with --creds or --auth")
        return d.AuthConfig(username=args.username, password=_ask_password(session, args.username))
    if args.creds and args.auth:
        raise CommandError("both `--creds` and `--auth` are specified")
    if args.creds:
        username, sep, password = args.creds.partition(":")
        if not username:
            raise CommandError("username can't be empty")
        return d.AuthConfig(username=username, password=password if sep else _ask_password(session, username))
    if args.auth:
        return d.AuthConfig(auth=args.auth)
    return None


async def _pull(
    session: Session,
    image: str,
    *,
    auth: d.AuthConfig | None,
    pod_config: d.PodSandboxConfig | None,
    annotations: dict[str, str],
    timeout: float,
) -> str:
    client = await session.images()
    spec = d.ImageSpec(image=image, annotations=annotations)
    pulling = asyncio.ensure_future(
        client.pull_image(spec, auth=auth, sandbox_config=pod_config, timeout=timeout)
    )
    progress = _Progress(session, image) if session.err.isatty() else None
    try:
        while not pulling.done():
            await asyncio.wait({pulling}, timeout=PROGRESS_INTERVAL)
            if progress is not None:
                progress.tick()
    finally:
        if progress is not None:
            progress.clear()
        if not pulling.done():
            pulling.cancel()
    with context(f"pulling image {quote(image)}"):
        return pulling.result()


class _Progress:
    """One status line on a terminal while a pull runs, rewritten in place."""

    FRAMES = "|/-\\"

    def __init__(self, session: Session, image: str) -> None:
        self.session, self.image, self.started, self.frame = session, image, time.monotonic(), 0

    def tick(self) -> None:
        elapsed = time.monotonic() - self.started
        spinner = self.FRAMES[self.frame % len(self.FRAMES)]
        self.frame += 1
        self.session.err.write(f"\r{spinner} Pulling image {self.image} ({elapsed:.1f}s)")
        self.session.err.flush()

    def clear(self) -> None:
        self.session.err.write("\r\x1b[2K")
        self.session.err.flush()


def _pull_timeout(text: str) -> float:
    """crictl pulls without a deadline unless ``--pull-timeout`` sets one."""
    from cri.client import NO_DEADLINE

    return call_timeout(text, default=NO_DEADLINE)


async def pull(session: Session, args: argparse.Namespace) -> int:
    pod_config = load_pod_config(args.pod_config) if args.pod_config else None
    annotations = {}
    for pair in args.annotation:
        key, sep, value = pair.partition("=")
        if not sep:
            raise CommandError(f"annotation {quote(pair)} is not of the form key=value")
        annotations[key] = value
    image_ref = await _pull(
        session,
        args.image,
        auth=auth_config(session, args),
        pod_config=pod_config,
        annotations=annotations,
        timeout=_pull_timeout(args.pull_timeout),
    )
    session.out.write(f"Image is up to date for {image_ref}\n")
    return 0


async def pull_for_container(
    session: Session, args: argparse.Namespace, image: str, pod_config: d.PodSandboxConfig
) -> str:
    return await _pull(
        session,
        image,
        auth=auth_config(session, args),
        pod_config=pod_config,
        annotations={},
        timeout=_pull_timeout(args.pull_timeout),
    )


# listing


def _sort_key(image: d.Image) -> tuple[int, str]:
    if image.repo_tags:
        return (0, image.repo_tags[0])
    if image.repo_digests:
        return (1, image.repo_digests[0])
    return (2, image.id)


def repo_digest_parts(repo_digests: tuple[str, ...]) -> tuple[str, str]:
    if not repo_digests:
        return NONE, NONE
    parts = repo_digests[0].split("@")
    if len(parts) != 2:
        return "errorName", "errorRepoDigest"
    return parts[0], parts[1]


def repo_tag_pairs(repo_tags: tuple[str, ...], image_name: str) -> list[tuple[str, str]]:
    if not repo_tags:
        return [(image_name, NONE)]
    pairs = []
    for repo_tag in repo_tags:
        name, sep, tag = repo_tag.rpartition(":")
        if not sep:
            pairs.append(("errorRepoTag", "errorRepoTag"))
            continue
        pairs.append((image_name if name == NONE else name, tag))
    return pairs


def _apply_filters(images: list[d.Image], filters: list[str]) -> list[d.Image]:
    for condition in filters:
        key, sep, value = condition.partition("=")
        if not sep:
            raise CommandError(f"invalid filter {quote(condition)}: expected key=value")
        if key == "dangling":
            dangling = value.lower() == "true"
            images = [i for i in images if (not i.repo_tags) == dangling]
        elif key == "reference":
            images = [i for i in images if any(_reference_matches(value, tag) for tag in i.repo_tags)]
        else:
            raise CommandError(f"unsupported filter {quote(key)}: use dangling or reference")
    return images


def _reference_matches(pattern: str, repo_tag: str) -> bool:
    """docker's FamiliarMatch: the pattern against ``busybox:1.36``, then against ``busybox``."""
    familiar = repo_tag
    if familiar.startswith("docker.io/"):
        familiar = familiar.removeprefix("docker.io/").removeprefix("library/")
    familiar_name = familiar.rsplit(":", 1)[0] if ":" in familiar.rsplit("/", 1)[-1] else familiar
    return fnmatch.fnmatchcase(familiar, pattern) or fnmatch.fnmatchcase(familiar_name, pattern)


async def images(session: Session, args: argparse.Namespace) -> int:
    check_output(args.output, ("table", *OUTPUT_FORMATS))
    client = await session.images()
    image_filter = d.ImageFilter(image=d.ImageSpec(image=args.reference)) if args.reference else None
    with context("listing images"):
        found = await client.list_images(image_filter)
    found = sorted(_apply_filters(found, args.filter), key=_sort_key)
    if args.output != "table":
        emit({"images": [domain_data(i, pb.Image) for i in found]}, args.output, args.template, session.out)
        return 0
    if args.quiet:
        session.out.write("".join(f"{i.id}\n" for i in found))
        return 0
    if args.verbose:
        session.out.write("".join(_verbose_image(i) for i in found))
        return 0
    session.out.write(_image_table(found, args))
    return 0


def _image_table(found: list[d.Image], args: argparse.Namespace) -> str:
    table = Table()
    header = ["IMAGE", "TAG"] + (["DIGEST"] if args.digests else []) + ["IMAGE ID", "SIZE"]
    table.add_row(header + (["PINNED"] if args.pinned else []))
    for image in found:
        name, digest = repo_digest_parts(image.repo_digests)
        image_id = image.id
        if not args.no_trunc:
            image_id, digest = truncate_id(image_id, "sha256:"), truncate_id(digest, "sha256:")
        size = human_size(image.size, SIZE_PRECISION)
        for repo, tag in repo_tag_pairs(image.repo_tags, name):
            row = [repo, tag] + ([digest] if args.digests else []) + [image_id, size]
            table.add_row(row + (["true" if image.pinned else "false"] if args.pinned else []))
    return table.render()


def _verbose_image(image: d.Image) -> str:
    lines = [f"ID: {image.id}"]
    lines += [f"RepoTags: {tag}" for tag in image.repo_tags]
    lines += [f"RepoDigests: {digest}" for digest in image.repo_digests]
    if image.size:
        lines.append(f"Size: {image.size}")
    if image.uid is not None:
        lines.append(f"Uid: value:{image.uid}")
    if image.username:
        lines.append(f"Username: {image.username}")
    if image.pinned:
        lines.append("Pinned: true")
    return "\n".join(lines) + "\n\n"


# inspecti / rmi / imagefsinfo


async def inspecti(session: Session, args: argparse.Namespace) -> int:
    check_output(args.output, ("table", *OUTPUT_FORMATS))
    client = await session.images()
    for reference in require_ids(args, args.ids, "ID"):
        with context(f"image status for {quote(reference)} request"):
            result = await client.image_status(reference, verbose=not args.quiet)
        if result.image is None:
            raise CommandError(f"no such image {quote(reference)} present")
        if args.output == "table":
            session.out.write(_image_status_table(result, verbose=not args.quiet))
            continue
        document = status_document(domain_data(result.image, pb.Image), result.info)
        emit(document, args.output, args.template, session.out)
    return 0


def _image_status_table(result: d.ImageStatusResult, *, verbose: bool) -> str:
    image = result.image or d.Image()
    lines = [f"ID: {image.id}"] + [f"Tag: {t}" for t in image.repo_tags]
    lines += [f"Digest: {digest}" for digest in image.repo_digests]
    lines.append(f"Size: {human_size(image.size, SIZE_PRECISION)}")
    if verbose and result.info:
        lines.append("Info: map[" + " ".join(f"{k}:{v}" for k, v in sorted(result.info.items())) + "]")
    return "\n".join(lines) + "\n"


async def _images_in_use(session: Session) -> set[str]:
    client = await session.runtime()
    with context("listing containers"):
        containers = await client.list_containers()
    return {c.image_ref for c in containers} | {c.image_id for c in containers}


async def rmi(session: Session, args: argparse.Namespace) -> int:
    client = await session.images()
    if args.all or args.prune:
        with context("listing images"):
            candidates = [i.id for i in await client.list_images()]
        if args.prune:
            in_use = await _images_in_use(session)
            candidates = [i for i in candidates if i not in in_use]
    else:
        candidates = require_ids(args, args.ids, "ImageID")
    failed = False
    for reference in candidates:
        with context(f"image status for {quote(reference)} request"):
            status = await client.image_status(reference)
        if status.image is None:
            session.log("error", f"no such image {reference}")
            failed = True
            continue
        with context(f"error of removing image {quote(reference)}"):
            await client.remove_image(status.image.id)
        names: Any = status.image.repo_tags or status.image.repo_digests
        session.out.write("".join(f"Deleted: {name}\n" for name in names))
    if failed:
        raise CommandError("unable to remove the image(s)")
    return 0


async def imagefsinfo(session: Session, args: argparse.Namespace) -> int:
    check_output(args.output, OUTPUT_FORMATS)
    client = await session.images()
    with context("image filesystem info request"):
        result = await client.image_fs_info()
    document = status_document(domain_data(result, pb.ImageFsInfoResponse), {})
    emit(document, args.output, args.template, session.out)
    return 0
