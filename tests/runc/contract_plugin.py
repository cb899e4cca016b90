"""Runs the contract suite against the runc shim too, until ``tests/contract`` lists it itself.

    pytest -p tests.runc.contract_plugin tests/contract -m integration

It adds ``"runc": (runc_endpoint, (pytest.mark.integration,))`` to the suite's ``BACKENDS`` and
rebuilds the parametrised ``cri`` fixture over the extended table.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import tests.contract.conftest as contract
from cri.client import CRIClient
from tests.runc.endpoint import runc_endpoint

contract.BACKENDS["runc"] = (runc_endpoint, (pytest.mark.integration,))


@pytest.fixture(params=[pytest.param(name, marks=marks) for name, (_, marks) in contract.BACKENDS.items()])
async def cri(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[CRIClient]:
    open_endpoint, _ = contract.BACKENDS[request.param]
    async with open_endpoint(tmp_path) as client:
        yield client


contract.cri = cri
