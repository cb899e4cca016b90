"""The runc shim's fixtures (its own cgroup parent and CNI network per test) for the fault suite."""

from tests.runc.conftest import layout, rootfs

__all__ = ["layout", "rootfs"]
