"""tinykube: a Kubernetes node stack in Python."""

from cri.buildinfo import project_version

__version__ = project_version()
"""The installed distribution's version (pyproject.toml is its one source)."""
