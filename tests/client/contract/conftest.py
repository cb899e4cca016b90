"""The contract suite runs on every target of ``tests.client.targets``: fake, rest and the apiserver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from api.client.protocol import Api
from tests.client.targets import FAKE, REST, opened, targets


@pytest.fixture(params=targets(FAKE, REST))
async def api(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Api]:
    async with opened(request, tmp_path) as client:
        yield client
