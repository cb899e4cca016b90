"""Runtime-level behaviour every backend must show (CRI-NOTES: surface)."""

from __future__ import annotations

import json

from cri.client import CRIClient


async def test_version_names_the_v1_api(cri: CRIClient) -> None:
    version = await cri.version()
    assert version.runtime_api_version == "v1"
    assert version.runtime_name and version.runtime_version


async def test_status_reports_runtime_and_network_ready_conditions(cri: CRIClient) -> None:
    result = await cri.status(verbose=True)
    assert result.status is not None
    conditions = {c.type: c for c in result.status.conditions}
    assert conditions["RuntimeReady"].status
    assert "NetworkReady" in conditions
    for value in result.info.values():
        json.loads(value)
