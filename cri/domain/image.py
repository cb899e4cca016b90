"""CRI domain: image types (frozen mirrors of runtime.v1 messages; Windows-only parts left out)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True, slots=True)
class ImageSpec:
    image: str = ""
    annotations: Mapping[str, str] = field(default_factory=dict)
    user_specified_image: str = ""
    runtime_handler: str = ""
    image_ref: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class ImageFilter:
    image: ImageSpec | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Image:
    id: str = ""
    repo_tags: tuple[str, ...] = ()
    repo_digests: tuple[str, ...] = ()
    size: int = 0
    uid: int | None = None
    username: str = ""
    spec: ImageSpec | None = None
    pinned: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class ImageStatusResult:
    image: Image | None = None
    info: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class AuthConfig:
    username: str = ""
    password: str = ""
    auth: str = ""
    server_address: str = ""
    identity_token: str = ""
    registry_token: str = ""
