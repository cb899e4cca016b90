"""The runc command line: start, kill, delete, state, update, exec (``--root`` is ours)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cri.errors import Internal, NotFound

RUNC_TIMEOUT_SECONDS = 30.0


class RuncError(Internal):
    """runc failed; the message is its stderr."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Runc:
    binary: Path
    root: Path

    def argv(self, *args: str) -> list[str]:
        return [str(self.binary), "--root", str(self.root), *args]

    async def run(
        self, *args: str, stdin: bytes | None = None, timeout: float = RUNC_TIMEOUT_SECONDS
    ) -> bytes:
        process = await asyncio.create_subprocess_exec(
            *self.argv(*args),
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(stdin), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise RuncError(f"runc {args[0]} timed out after {timeout:.0f}s") from None
        if process.returncode != 0:
            message = err.decode(errors="replace").strip()
            if "does not exist" in message or "not exist" in message:
                raise NotFound(f"runc {args[0]}: {message}")
            raise RuncError(f"runc {args[0]} failed: {message}")
        return out

    async def start(self, container_id: str) -> None:
        await self.run("start", container_id)

    async def kill(self, container_id: str, signal: str, *, all_processes: bool = False) -> None:
        await self.run("kill", *(["--all"] if all_processes else []), container_id, signal)

    async def delete(self, container_id: str) -> None:
        with contextlib.suppress(NotFound):
            await self.run("delete", "--force", container_id)

    async def state(self, container_id: str) -> dict[str, Any]:
        state: dict[str, Any] = json.loads(await self.run("state", container_id))
        return state

    async def update(self, container_id: str, resources: dict[str, Any]) -> None:
        await self.run("update", "--resources", "-", container_id, stdin=json.dumps(resources).encode())

    def exec_argv(
        self,
        container_id: str,
        process_file: Path,
        *,
        pid_file: Path,
        tty: bool = False,
    ) -> list[str]:
        return self.argv(
            "exec",
            *(["--tty"] if tty else []),
            "--pid-file",
            str(pid_file),
            "--process",
            str(process_file),
            container_id,
        )
