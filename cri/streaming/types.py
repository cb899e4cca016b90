"""What a streaming session asks for: the domain side of Exec, Attach and PortForward."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, slots=True)
class ExecSpec:
    container_id: str
    cmd: tuple[str, ...]
    tty: bool
    stdin: bool
    stdout: bool
    stderr: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class AttachSpec:
    container_id: str
    tty: bool
    stdin: bool
    stdout: bool
    stderr: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class PortForwardSpec:
    pod_sandbox_id: str
    ports: tuple[int, ...]
