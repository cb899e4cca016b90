"""The shims the `tinykube shim` command can run, each built from an optional config file."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

from cri.backend import ImageBackend, RuntimeBackend


@dataclass(frozen=True, kw_only=True)
class Backends:
    runtime: RuntimeBackend
    images: ImageBackend


class UnknownBackend(KeyError):
    """No backend of that name is known or built."""


class BackendConfigError(ValueError):
    """A backend's configuration file is invalid; the message names the field."""


BackendFactory = Callable[[Path | None], AbstractAsyncContextManager[Backends]]

# name -> "module:function"; the function takes the config path, reads it at once (a ValueError names
# what is wrong in it) and returns an async context manager that opens the backends on entry.
REGISTRY: dict[str, str] = {
    "fake": "shims.fake.daemon:open_backends",
    "runc": "shims.runc.daemon:open_backends",
    "containerd": "shims.containerd.daemon:open_backends",
    "podman": "shims.podman.daemon:open_backends",
}


def available() -> list[str]:
    return [name for name in REGISTRY if _in_build(name)]


def _package_of(name: str) -> str:
    """``shims.runc.daemon:open_backends`` → ``shims.runc``: the backend's own package."""
    return ".".join(REGISTRY[name].split(":")[0].split(".")[:2])


def _in_build(name: str) -> bool:
    """Whether the backend's package is in this build; looking does not import the package itself."""
    return importlib.util.find_spec(_package_of(name)) is not None


def load(name: str) -> BackendFactory:
    """The backend's factory. A backend in this build that fails to import raises its import error."""
    if name not in REGISTRY:
        raise UnknownBackend(f"unknown backend {name!r}; known: {', '.join(sorted(REGISTRY))}")
    if not _in_build(name):
        absent = _package_of(name)
        raise UnknownBackend(f"backend {name!r} is not available in this build ({absent} is absent)")
    module_name, _, function = REGISTRY[name].partition(":")
    factory: BackendFactory = getattr(importlib.import_module(module_name), function)
    return factory


__all__ = [
    "AsyncIterator",
    "BackendConfigError",
    "BackendFactory",
    "Backends",
    "UnknownBackend",
    "available",
    "load",
]
