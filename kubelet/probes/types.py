"""The vocabulary shared by probe runners, workers and the manager."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from cri import domain as d


class ProbeKind(enum.StrEnum):
    LIVENESS = "Liveness"
    READINESS = "Readiness"
    STARTUP = "Startup"


class ProbeResult(enum.StrEnum):
    SUCCESS = "Success"
    FAILURE = "Failure"
    UNKNOWN = "Unknown"


@dataclass(frozen=True, kw_only=True)
class ProbeOutcome:
    """What one probe run found; ``message`` says why it failed (for the Unhealthy event)."""

    result: ProbeResult
    message: str = ""


class ProbeError(Exception):
    """The probe could not be run at all (runtime unreachable, bad spec); its result is discarded."""


class ExecRuntime(Protocol):
    """The slice of the CRI client an exec probe needs (``cri.client.CRIClient`` satisfies it)."""

    async def exec_sync(
        self, container_id: str, cmd: list[str], *, exec_timeout: int = 0, timeout: float | None = None
    ) -> d.ExecSyncResult: ...


@dataclass(frozen=True, kw_only=True)
class ProbeTarget:
    """The running container a probe is aimed at."""

    container_id: str
    pod_ip: str
    named_ports: tuple[tuple[str, int], ...] = ()

    def port(self, port: int | str) -> int:
        """A numeric port, or a named one resolved against the container's ports."""
        if isinstance(port, int):
            return _valid_port(port)
        if port.isdigit():
            return _valid_port(int(port))
        for name, number in self.named_ports:
            if name == port:
                return _valid_port(number)
        raise ProbeError(f"unknown named port {port!r}")


def _valid_port(port: int) -> int:
    if not 0 < port < 65536:
        raise ProbeError(f"invalid port number {port}")
    return port


def success(message: str = "") -> ProbeOutcome:
    return ProbeOutcome(result=ProbeResult.SUCCESS, message=message)


def failure(message: str) -> ProbeOutcome:
    return ProbeOutcome(result=ProbeResult.FAILURE, message=message)
