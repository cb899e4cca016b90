"""The real kubectl against a test apiserver: the written kubeconfig, a private HOME (discovery
cache), no flags a user would not pass."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

KUBECTL = "/usr/bin/kubectl"
TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


@dataclass(frozen=True)
class Kubectl:
    kubeconfig: Path
    home: Path

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "KUBECONFIG": str(self.kubeconfig),
        }
        return env | (extra or {})

    async def run(self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Result:
        process = await asyncio.create_subprocess_exec(
            KUBECTL,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env(env),
        )
        try:
            out, err = await asyncio.wait_for(
                process.communicate(stdin.encode() if stdin else None), TIMEOUT_S
            )
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        assert process.returncode is not None
        return Result(process.returncode, out.decode(), err.decode())

    async def ok(self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
        result = await self.run(*args, stdin=stdin, env=env)
        assert result.code == 0, f"kubectl {' '.join(args)} failed ({result.code}): {result.err}"
        return result.out
