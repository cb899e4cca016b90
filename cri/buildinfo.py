"""The installed project's version, from its package metadata (pyproject.toml is the one source)."""

from __future__ import annotations

import functools
from importlib import metadata

DISTRIBUTION = "tinykube"


@functools.cache
def project_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0.0.0+unknown"
