"""Fixtures for the tests of the conformance suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conformance.harness import BackendFactory, ServedFake, serving


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[BackendFactory], ServedFake]]:
    with serving(tmp_path) as start:
        yield start
