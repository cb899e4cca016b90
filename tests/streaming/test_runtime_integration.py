"""Streaming against real plumbing (root): runc exec on our pty, conmon's attach socket, a dial in a
network namespace our test created. The runc shim's own tests reuse these building blocks.

    sudo .venv/bin/pytest tests/streaming -m integration
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from cri.streaming.backend import PortConnection, StreamingProcess, TerminalSize
from cri.streaming.process import start_process
from cri.streaming.server import StreamingServer
from cri.streaming.spdy.client import connect_spdy
from cri.streaming.types import AttachSpec, ExecSpec, PortForwardSpec
from shims.node.conmon_attach import ConmonAttach
from shims.node.netns_dial import dial_in_netns
from tests.streaming.test_replay_spdy import STTY_READ, by_type, recorded_outcome, replay_spdy

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (runc, conmon, network namespaces)"),
    pytest.mark.skipif(
        not all(shutil.which(tool) for tool in ("runc", "conmon", "ip", "busybox")),
        reason="needs runc, conmon, ip and busybox-static",
    ),
]
TIMEOUT = 30


@dataclass
class Container:
    id: str
    bundle: Path
    runc_root: Path
    attach_socket: Path
    conmon: asyncio.subprocess.Process


async def write_bundle(bundle: Path) -> None:
    """busybox-static as the rootfs, ``sh`` on a terminal; runc's default spec minus the netns."""
    rootfs = bundle / "rootfs" / "bin"
    rootfs.mkdir(parents=True)
    shutil.copy(shutil.which("busybox") or "", rootfs / "busybox")
    (rootfs / "sh").symlink_to("busybox")
    await _run("runc", "spec", "--bundle", str(bundle))
    config = json.loads((bundle / "config.json").read_text())
    config["process"]["args"] = ["sh"]
    config["process"]["terminal"] = True
    config["linux"]["namespaces"] = [ns for ns in config["linux"]["namespaces"] if ns["type"] != "network"]
    (bundle / "config.json").write_text(json.dumps(config))


@pytest.fixture
async def container(tmp_path: Path) -> AsyncIterator[Container]:
    container_id = "tkstream-" + secrets.token_hex(4)
    bundle, runc_root, sockets = tmp_path / "bundle", tmp_path / "runc", tmp_path / "sockets"
    for directory in (runc_root, sockets, tmp_path / "exit", tmp_path / "persist"):
        directory.mkdir()
    await write_bundle(bundle)
    sync_parent, sync_child = socket.socketpair()
    start_parent, start_child = socket.socketpair()
    conmon = await asyncio.create_subprocess_exec(
        "conmon", "-b", str(bundle), "-c", container_id, "-u", container_id, "-n", container_id,
        "--exit-dir", str(tmp_path / "exit"), "-l", f"k8s-file:{tmp_path / 'ctr.log'}",
        "-P", str(tmp_path / "conmon.pid"), "-p", str(bundle / "pidfile"),
        "--persist-dir", str(tmp_path / "persist"), "-r", shutil.which("runc") or "runc",
        "--runtime-arg", f"--root={runc_root}", "--socket-dir-path", str(sockets),
        "-t", "-i", "--leave-stdin-open",
        env=dict(os.environ, _OCI_SYNCPIPE=str(sync_child.fileno()),
                 _OCI_STARTPIPE=str(start_child.fileno())),
        pass_fds=(sync_child.fileno(), start_child.fileno()),
    )  # fmt: skip
    sync_child.close()
    start_child.close()
    try:
        start_parent.send(b"0")
        created = await asyncio.wait_for(asyncio.to_thread(sync_parent.recv, 4096), TIMEOUT)
        assert json.loads(created)["pid"] > 0, created
        await _run("runc", f"--root={runc_root}", "start", container_id)
        yield Container(container_id, bundle, runc_root, sockets / container_id / "attach", conmon)
    finally:
        sync_parent.close()
        start_parent.close()
        with contextlib.suppress(AssertionError):
            await _run("runc", f"--root={runc_root}", "delete", "--force", container_id)
        with contextlib.suppress(ProcessLookupError):
            conmon.kill()
        await conmon.wait()


async def container_status(container: Container) -> str:
    runc = await asyncio.create_subprocess_exec(
        "runc", f"--root={container.runc_root}", "state", container.id, stdout=asyncio.subprocess.PIPE
    )
    state, _ = await asyncio.wait_for(runc.communicate(), TIMEOUT)
    return str(json.loads(state)["status"])


async def _run(*argv: str) -> None:
    process = await asyncio.create_subprocess_exec(*argv)
    assert await asyncio.wait_for(process.wait(), TIMEOUT) == 0, argv


ECHO_SERVER = """
import socket, sys, threading
listener = socket.socket(); listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 8080)); listener.listen(16); print("ready", flush=True)
def echo(conn):
    while data := conn.recv(65536):
        conn.sendall(data)
    conn.close()
while True:
    threading.Thread(target=echo, args=(listener.accept()[0],), daemon=True).start()
"""


@pytest.fixture
async def netns_with_echo() -> AsyncIterator[Path]:
    """A network namespace of our own with an echo server on its 127.0.0.1:8080 only."""
    name = "tkstream-" + secrets.token_hex(4)
    await _run("ip", "netns", "add", name)
    try:
        await _run("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
        server = await asyncio.create_subprocess_exec(
            "ip", "netns", "exec", name, sys.executable, "-c", ECHO_SERVER, stdout=asyncio.subprocess.PIPE
        )
        assert server.stdout is not None
        assert await asyncio.wait_for(server.stdout.readline(), TIMEOUT) == b"ready\n"
        yield Path("/run/netns") / name
        server.kill()
        await server.wait()
    finally:
        await _run("ip", "netns", "del", name)


@dataclass
class RuncRuntime:
    """What the runc shim does, in miniature: runc exec on our pipes/pty, conmon attach, netns dial."""

    container: Container
    netns: Path | None = None

    async def start_exec(self, spec: ExecSpec, *, terminal_size: TerminalSize | None) -> StreamingProcess:
        runc = ("runc", f"--root={self.container.runc_root}", "exec")
        if not spec.tty:
            argv = (*runc, self.container.id, *spec.cmd)
            return await start_process(argv, tty=False, stdin=spec.stdin, terminal_size=None)
        # runc -t proxies between its own stdio (our pty) and the container's pty, and follows our
        # pty's size on SIGWINCH; consoleSize sizes the container's pty before the process starts.
        process_file = self.container.bundle.parent / f"exec-{secrets.token_hex(4)}.json"
        process_file.write_text(json.dumps(self.exec_process(spec.cmd, terminal_size)))
        argv = (*runc, "--tty", "--process", str(process_file), self.container.id)
        return await start_process(argv, tty=True, stdin=spec.stdin, terminal_size=terminal_size)

    def exec_process(self, cmd: tuple[str, ...], size: TerminalSize | None) -> dict[str, object]:
        """The container's process spec with our command; consoleSize sizes the pty before exec."""
        process: dict[str, object] = json.loads((self.container.bundle / "config.json").read_text())[
            "process"
        ]
        process |= {"args": list(cmd), "terminal": True}
        if size is not None:
            process["consoleSize"] = {"height": size.height, "width": size.width}
        return process

    async def attach(self, spec: AttachSpec) -> StreamingProcess:
        return await ConmonAttach.connect(
            self.container.attach_socket, ctl_path=self.container.bundle / "ctl"
        )

    async def dial_port(self, pod_sandbox_id: str, port: int) -> PortConnection:
        assert self.netns is not None
        return await dial_in_netns(self.netns, port)


@pytest.fixture
async def runc_server(container: Container) -> AsyncIterator[tuple[StreamingServer, RuncRuntime]]:
    runtime = RuncRuntime(container)
    server = StreamingServer(runtime)
    await server.start()
    yield server, runtime
    await server.stop()


async def test_runc_exec_exit_code_and_streams(runc_server: tuple[StreamingServer, RuncRuntime]) -> None:
    server, _ = runc_server
    spec = ExecSpec(
        container_id="c", cmd=("sh", "-c", "echo out; echo err >&2; exit 3"), tty=False, stdin=False,
        stdout=True, stderr=True,
    )  # fmt: skip
    types, recorded, _ = recorded_outcome("exec-spdy")
    _, frames = await replay_spdy(server, server.exec_url(spec), "exec-spdy")
    data, fin, _ = by_type(types, frames)
    assert data == recorded
    assert fin == {"stdout", "stderr"}


async def test_runc_exec_tty_is_sized_before_the_process_starts(
    runc_server: tuple[StreamingServer, RuncRuntime],
) -> None:
    server, _ = runc_server
    spec = ExecSpec(container_id="c", cmd=STTY_READ, tty=True, stdin=True, stdout=True, stderr=False)
    types, _, _ = recorded_outcome("exec-spdy-tty")
    _, frames = await replay_spdy(server, server.exec_url(spec), "exec-spdy-tty")
    data, _, _ = by_type(types, frames)
    assert "stdout" in data, data
    assert data["stdout"] == b"37 101\r\nhello\r\ngot:hello\r\n"  # containerd: "stty: standard input"
    assert data["error"] == b'{"metadata":{},"status":"Success"}'


async def test_runc_exec_tty_first_size_and_resize(runc_server: tuple[StreamingServer, RuncRuntime]) -> None:
    server, _ = runc_server
    cmd = ("sh", "-c", "sleep 1; stty size; read x; stty size; echo got:$x")
    spec = ExecSpec(container_id="c", cmd=cmd, tty=True, stdin=True, stdout=True, stderr=False)
    types, recorded, _ = recorded_outcome("exec-spdy-tty-resize")
    _, frames = await replay_spdy(server, server.exec_url(spec), "exec-spdy-tty-resize")
    data, _, _ = by_type(types, frames)
    assert data["stdout"] == recorded["stdout"] == b"37 101\r\nhello\r\n40 120\r\ngot:hello\r\n"


async def test_conmon_attach_and_detach(
    runc_server: tuple[StreamingServer, RuncRuntime], container: Container
) -> None:
    server, _ = runc_server
    spec = AttachSpec(container_id=container.id, tty=True, stdin=True, stdout=True, stderr=False)
    types, _, _ = recorded_outcome("attach-spdy-tty")
    _, frames = await replay_spdy(
        server, server.attach_url(spec), "attach-spdy-tty", gate_after=(b"echo hi\n", b"\r\nhi\r\n")
    )
    data, _, _ = by_type(types, frames)
    assert b"echo hi\r\nhi\r\n" in data["stdout"]
    assert data["error"] == b'{"metadata":{},"status":"Success"}'
    assert await container_status(container) == "running"  # detached; the container keeps running


async def test_port_forward_into_a_netns_two_connections_10mb_each_way(
    runc_server: tuple[StreamingServer, RuncRuntime], netns_with_echo: Path
) -> None:
    server, runtime = runc_server
    runtime.netns = netns_with_echo
    payloads = [os.urandom(10 * 1024 * 1024) for _ in range(2)]

    async def one_connection(payload: bytes) -> bytes:
        url = server.port_forward_url(PortForwardSpec(pod_sandbox_id="pod", ports=(8080,)))
        received = bytearray()
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(url, protocols=("v4.channel.k8s.io",)) as ws,
        ):
            assert (await ws.receive_bytes()) == b"\x00\x90\x1f" and (
                await ws.receive_bytes()
            ) == b"\x01\x90\x1f"

            async def send() -> None:
                for offset in range(0, len(payload), 64 * 1024):
                    await ws.send_bytes(b"\x00" + payload[offset : offset + 64 * 1024])

            sender = asyncio.create_task(send())
            while len(received) < len(payload):
                message = await ws.receive_bytes()
                assert message[0] == 0, message[:200]
                received += message[1:]
            await sender
        return bytes(received)

    async with asyncio.timeout(120):
        echoed = await asyncio.gather(*(one_connection(payload) for payload in payloads))
    assert echoed == payloads


async def test_runc_exec_stdin_round_trip(runc_server: tuple[StreamingServer, RuncRuntime]) -> None:
    server, _ = runc_server
    spec = ExecSpec(
        container_id="c", cmd=("sh", "-c", "cat; exit 7"), tty=False, stdin=True, stdout=True, stderr=True
    )
    client = await connect_spdy(server.exec_url(spec), protocols=("v4.channel.k8s.io",))
    payload = os.urandom(1024 * 1024)
    try:
        error = await client.open_stream([("streamtype", "error")])
        stdin = await client.open_stream([("streamtype", "stdin")])
        stdout = await client.open_stream([("streamtype", "stdout")])
        await client.open_stream([("streamtype", "stderr")])
        await stdin.write(payload)
        await stdin.close_write()
        received = b""
        async with asyncio.timeout(TIMEOUT):
            while chunk := await stdout.read():
                received += chunk
            status = json.loads(await error.read())
    finally:
        await client.close()
    assert received == payload
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "7"}]
