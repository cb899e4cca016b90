"""Controllers run against the FakeApi in the unit run and against the real apiserver code in integration."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from api.client.protocol import Api
from tests.client.targets import FAKE, opened, targets


@pytest.fixture(params=targets(FAKE))
async def api(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Api]:
    async with opened(request, tmp_path) as client:
        yield client
