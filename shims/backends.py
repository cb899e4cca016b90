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
    return [name for name, target in REGISTRY.items() if _module_exists(target.split(":")[0])]


def _module_exists(dotted: str) -> bool:
    try:
        return importlib.util.find_spec(dotted) is not None
    except ModuleNotFoundError:
        return False


def load(name: str) -> BackendFactory:
    if name not in REGISTRY:
        raise KeyError(f"unknown backend {name!r}; known: {', '.join(sorted(REGISTRY))}")
    module_name, _, function = REGISTRY[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise KeyError(f"backend {name!r} is not available in this build ({exc.name} missing)") from exc
    factory: BackendFactory = getattr(module, function)
    return factory


__all__ = ["AsyncIterator", "BackendFactory", "Backends", "available", "load"]
