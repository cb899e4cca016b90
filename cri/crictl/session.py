"""One crictl run: its settings, output streams, clock and (lazily) its CRI connections."""

from __future__ import annotations

import errno
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from cri.crictl.config import DEFAULT_ENDPOINTS, Settings

if TYPE_CHECKING:
    from cri.client import CRIClient
    from cri.errors import CRIError


class CommandError(Exception):
    """What crictl reports as a fatal error; ``exit_code`` is the process's exit status."""

    def __init__(
        self, message: str, *, exit_code: int = 1, quiet: bool = False, level: str = "fatal"
    ) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.quiet = quiet
        self.level = level


def quote(text: str) -> str:
    """Go's ``%q`` for the texts crictl quotes in its messages."""
    import json

    return json.dumps(text, ensure_ascii=False)


def rpc_text(exc: CRIError) -> str:
    """A gRPC status as Go prints it: ``rpc error: code = NotFound desc = ...``."""
    code = "".join(part.capitalize() for part in exc.code.name.split("_"))
    if code == "Ok":
        code = "OK"
    return f"rpc error: code = {code} desc = {exc.message}"


@contextmanager
def context(what: str) -> Iterator[None]:
    """Turn a CRI error into crictl's ``<what>: rpc error: ...`` message."""
    from cri.errors import CRIError

    try:
        yield
    except CRIError as exc:
        raise CommandError(f"{what}: {rpc_text(exc)}") from None


@dataclass(frozen=True, kw_only=True)
class Logger:
    """logrus's text format: ``LEVL[0000] msg`` on a terminal, ``time=... level=... msg=...`` otherwise."""

    err: TextIO
    now_ns: Callable[[], int] = time.time_ns
    started: float = field(default_factory=time.monotonic)
    verbose: bool = False

    def log_debug(self, message: str) -> None:
        if self.verbose:
            self.log("debug", message)

    def log(self, level: str, message: str) -> None:
        if _isatty(self.err):
            elapsed = int(time.monotonic() - self.started)
            self.err.write(f"{level[:4].upper()}[{elapsed:04d}] {message}\n")
            return
        from cri.crictl.timefmt import rfc3339nano

        stamp = rfc3339nano(self.now_ns() // 1_000_000_000 * 1_000_000_000)
        self.err.write(f'time="{stamp}" level={level} msg={_logfmt_quote(message)}\n')


@dataclass
class Session:
    settings: Settings
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    now_ns: Callable[[], int] = time.time_ns
    host_commands: tuple[str, ...] = ()
    """The commands of the program crictl runs inside (``tinykube``), for shell completion."""
    started: float = field(default_factory=time.monotonic)
    _clients: dict[tuple[str, ...], CRIClient] = field(default_factory=dict)

    def write_stream(self, stream: str, data: bytes) -> None:
        """Container output as bytes: stdout's to our stdout, stderr's to our stderr."""
        target = self.err if stream == "stderr" else self.out
        binary = getattr(target, "buffer", None)
        if binary is not None:
            target.flush()
            binary.write(data)
            binary.flush()
        else:
            target.write(data.decode(errors="replace"))

    @property
    def logger(self) -> Logger:
        return Logger(err=self.err, now_ns=self.now_ns, started=self.started, verbose=self.settings.debug)

    def warn(self, message: str) -> None:
        self.logger.log("warning", message)

    def debug(self, message: str) -> None:
        self.logger.log_debug(message)

    def log(self, level: str, message: str) -> None:
        self.logger.log(level, message)

    async def runtime(self) -> CRIClient:
        return await self._client(self.settings.runtime_endpoints, "runtime")

    async def images(self) -> CRIClient:
        return await self._client(self.settings.image_endpoints, "image")

    async def _client(self, endpoints: tuple[str, ...], kind: str) -> CRIClient:
        """One connection per endpoint list, shared when runtime and images are served together."""
        client = self._clients.get(endpoints)
        if client is None:
            client = self._clients[endpoints] = await self._connect(endpoints, kind)
        return client

    async def _connect(self, endpoints: tuple[str, ...], kind: str) -> CRIClient:
        from cri.client import CRIClient
        from cri.errors import CRIError

        if self.settings.endpoints_defaulted and endpoints == DEFAULT_ENDPOINTS:
            self.warn(
                f"{kind} connect using default endpoints: [{' '.join(endpoints)}]. "
                "As the default settings are now deprecated, you should set the endpoint instead."
            )
        failures = []
        for endpoint in endpoints:
            self.debug(f"get {kind} connection")
            self.debug(f"connect using endpoint {endpoint!r} with '{self.settings.timeout:g}s' timeout")
            problem = _unix_socket_problem(endpoint)
            if problem is not None:
                failures.append(f"validate CRI v1 {kind} API for endpoint {quote(endpoint)}: {problem}")
                continue
            try:
                client = await CRIClient.connect(
                    endpoint, timeout=self.settings.timeout, connect_timeout=self.settings.timeout
                )
                self.debug(f"connected successfully using endpoint: {endpoint}")
                return client
            except (CRIError, ValueError) as exc:
                text = rpc_text(exc) if isinstance(exc, CRIError) else str(exc)
                failures.append(f"validate CRI v1 {kind} API for endpoint {quote(endpoint)}: {text}")
        raise CommandError("validate service connection: " + "; ".join(failures))

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()


def _unix_socket_problem(endpoint: str) -> str | None:
    """A fast, precise reason a unix endpoint cannot be reached (gRPC would just retry)."""
    if endpoint.startswith("unix://"):
        path = endpoint[len("unix://") :]
    elif endpoint.startswith("/"):
        path = endpoint
    else:
        return None
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(path)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        if exc.errno in (errno.EAGAIN, errno.EINPROGRESS):
            return None
        return (
            "rpc error: code = Unavailable desc = connection error: desc = "
            f'"transport: Error while dialing: dial unix {path}: connect: {reason.lower()}"'
        )
    finally:
        probe.close()
    return None


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _logfmt_quote(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)
