"""An in-memory CRI backend for fast tests: honours the CRI state machine, records calls, injects faults."""

from shims.fake.faults import Faults
from shims.fake.images import FakeImages
from shims.fake.runtime import FakeRuntime

__all__ = ["FakeImages", "FakeRuntime", "Faults"]
