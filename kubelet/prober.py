"""The kubelet's probe runner, built on the first probe: a node without probes never loads its HTTP client."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from api.model.core_v1 import Probe
from kubelet.probes.types import ExecRuntime, ProbeOutcome, ProbeTarget

if TYPE_CHECKING:
    from kubelet.probes.runners import ProbeRunner


class OnDemandProbeRunner:
    def __init__(self, runtime: ExecRuntime) -> None:
        self.runtime = runtime
        self._runner: ProbeRunner | None = None
        self._lock = asyncio.Lock()

    async def run(self, probe: Probe, target: ProbeTarget) -> ProbeOutcome:
        return await (await self._started()).run(probe, target)

    async def _started(self) -> ProbeRunner:
        async with self._lock:
            if self._runner is None:
                from kubelet.probes.runners import ProbeRunner

                self._runner = await ProbeRunner(self.runtime).__aenter__()
            return self._runner

    async def close(self) -> None:
        async with self._lock:
            if self._runner is not None:
                await self._runner.__aexit__(None, None, None)
                self._runner = None
