"""A local OCI registry: Debian's ``docker-registry`` (distribution 2.8) on a loopback address.

``ensure_registry`` reuses one that already answers or starts a detached one (it outlives the
seeding command); ``running_registry`` is the scoped form tests and benchmarks use, with optional
htpasswd basic auth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from cri.errors import FailedPrecondition, Unavailable

log = logging.getLogger(__name__)

REGISTRY_BINARY = "docker-registry"
START_TIMEOUT_S = 20.0
PROBE_TIMEOUT_S = 2.0


@dataclass(frozen=True, kw_only=True, slots=True)
class RegistrySettings:
    address: str = "127.0.0.1:5000"
    state_dir: Path = Path("/var/lib/tinykube/registry")
    htpasswd: Mapping[str, str] | None = None
    """username -> password; when set the registry wants HTTP basic auth."""


@dataclass(frozen=True, kw_only=True, slots=True)
class RegistryHandle:
    address: str
    started: bool
    pid: int | None = None


async def registry_answers(address: str) -> bool:
    """True when a distribution registry answers ``GET /v2/`` (200, or 401 when auth is on)."""
    timeout = aiohttp.ClientTimeout(total=PROBE_TIMEOUT_S)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(f"http://{address}/v2/") as response,
        ):
            return response.status in (200, 401) and "Docker-Distribution-Api-Version" in response.headers
    except (aiohttp.ClientError, TimeoutError):
        return False


async def ensure_registry(settings: RegistrySettings) -> RegistryHandle:
    if await registry_answers(settings.address):
        return RegistryHandle(address=settings.address, started=False)
    process = await asyncio.to_thread(_spawn_detached, settings)
    log_path = settings.state_dir / "registry.log"
    await _wait_until_up(settings.address, lambda: process.poll() is None, log_path)
    return RegistryHandle(address=settings.address, started=True, pid=process.pid)


def _spawn_detached(settings: RegistrySettings) -> subprocess.Popen[bytes]:
    """Start the registry in its own session: it outlives the seeding command on purpose."""
    config = write_config(settings)
    with (settings.state_dir / "registry.log").open("ab") as log_file:
        process = subprocess.Popen(
            [_binary(), "serve", str(config)], stdout=log_file, stderr=log_file, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    (settings.state_dir / "registry.pid").write_text(f"{process.pid}\n")
    return process


@contextlib.asynccontextmanager
async def running_registry(settings: RegistrySettings) -> AsyncIterator[RegistryHandle]:
    """A registry that lives for the ``async with`` block, then is stopped."""
    config = write_config(settings)
    log_path = settings.state_dir / "registry.log"
    with log_path.open("ab") as log_file:
        process = await asyncio.create_subprocess_exec(
            _binary(), "serve", str(config), stdout=log_file, stderr=log_file, stdin=subprocess.DEVNULL
        )
    try:
        await _wait_until_up(settings.address, lambda: process.returncode is None, log_path)
        yield RegistryHandle(address=settings.address, started=True, pid=process.pid)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=10)
            except TimeoutError:
                process.kill()
                await process.wait()


def write_config(settings: RegistrySettings) -> Path:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.state_dir, 0o750)
    lines = [
        "version: 0.1",
        "log:",
        "  level: warn",
        "storage:",
        "  filesystem:",
        f"    rootdirectory: {settings.state_dir / 'data'}",
        "  delete:",
        "    enabled: true",
        "http:",
        f"  addr: {settings.address}",
    ]
    if settings.htpasswd is not None:
        htpasswd = settings.state_dir / "htpasswd"
        htpasswd.write_text(_htpasswd(settings.htpasswd))
        lines += ["auth:", "  htpasswd:", "    realm: tinykube", f"    path: {htpasswd}"]
    config = settings.state_dir / "config.yml"
    config.write_text("\n".join(lines) + "\n")
    return config


def _htpasswd(users: Mapping[str, str]) -> str:
    import bcrypt  # only the auth-protected registry needs it

    return "".join(
        f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()}\n"
        for user, password in users.items()
    )


def _binary() -> str:
    found = shutil.which(REGISTRY_BINARY)
    if found is None:
        raise FailedPrecondition(f"{REGISTRY_BINARY} is not installed (Debian package docker-registry)")
    return found


async def _wait_until_up(address: str, alive: Callable[[], bool], log_path: Path) -> None:
    async with asyncio.timeout(START_TIMEOUT_S):
        while not await registry_answers(address):
            if not alive():
                tail = (await asyncio.to_thread(log_path.read_text, errors="replace"))[-2000:]
                raise Unavailable(f"{REGISTRY_BINARY} on {address} exited at start:\n{tail}")
            await asyncio.sleep(0.1)  # polling a port that is not up yet; bounded by the timeout
