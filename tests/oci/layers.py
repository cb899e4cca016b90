"""Helpers that write hand-made tar layers (including hostile ones) for unpacker tests."""

from __future__ import annotations

import gzip
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, kw_only=True)
class Member:
    name: str
    data: bytes | None = None
    kind: bytes = tarfile.REGTYPE
    linkname: str = ""
    mode: int = 0o644
    size: int | None = None


def write_layer(
    path: Path, members: list[Member], *, gzipped: bool = True, tar_format: int = tarfile.PAX_FORMAT,
    pax_headers: dict[str, str] | None = None,
) -> Path:  # fmt: skip
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tar_format) as archive:
        for member in members:
            info = tarfile.TarInfo(member.name)
            info.pax_headers = dict(pax_headers or {})
            info.type, info.linkname, info.mode, info.mtime = (
                member.kind,
                member.linkname,
                member.mode,
                1_000_000,
            )
            if member.data is not None:
                info.size = len(member.data)
                archive.addfile(info, io.BytesIO(member.data))
            else:
                archive.addfile(info)
    data = raw.getvalue()
    path.write_bytes(gzip.compress(data, mtime=0) if gzipped else data)
    return path


def directory(name: str) -> Member:
    return Member(name=name, kind=tarfile.DIRTYPE, mode=0o755)


def regular(name: str, data: bytes = b"x") -> Member:
    return Member(name=name, data=data)


def symlink(name: str, target: str) -> Member:
    return Member(name=name, kind=tarfile.SYMTYPE, linkname=target, mode=0o777)


def hardlink(name: str, target: str) -> Member:
    return Member(name=name, kind=tarfile.LNKTYPE, linkname=target)
