"""The installed project's version, from its package metadata (pyproject.toml is the one source)."""

from __future__ import annotations

import functools
from importlib import metadata

from cri import domain as d

DISTRIBUTION = "tinykube"


@functools.cache
def project_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0.0.0+unknown"


def runtime_version(runtime_name: str) -> d.RuntimeVersion:
    """The Version RPC's answer of one of this project's runtimes."""
    return d.RuntimeVersion(
        version="0.1.0",
        runtime_name=runtime_name,
        runtime_version=project_version(),
        runtime_api_version="v1",
    )
