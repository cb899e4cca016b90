"""The scripted crictl session, run as users run it (`tinykube crictl` processes) against endpoints.

pull, runp, create, start, ps, pods, inspect, inspectp, inspecti, exec -s, exec, logs, stats, stop,
rm, stopp, rmp, rmi. The fake shim runs in the default (unit) run; containerd's built-in CRI and the
runc shim are integration targets (CI starts containerd; images come from the local registry).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shims import backends

# CI's containerd (.ci/services.sh); CRICTL_CONTAINERD_ENDPOINT points the tests at another one
CONTAINERD = os.environ.get("CRICTL_CONTAINERD_ENDPOINT", "unix:///run/containerd/containerd.sock")
CONTAINERD_MARKS = (
    (pytest.mark.integration,)
    if "CRICTL_CONTAINERD_ENDPOINT" in os.environ
    else (pytest.mark.integration, pytest.mark.needs_host("containerd", "registry"))
)
BUSYBOX = "docker.io/library/busybox:1.36"


@dataclass(frozen=True)
class Target:
    endpoint: str
    runs_processes: bool  # exec output, logs and stats come from a real process
    streams: bool  # the runtime serves exec over its streaming server


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


REPO = Path(__file__).resolve().parents[2]


def _tinykube() -> list[str]:
    """This checkout's `tinykube` (not whatever an editable install elsewhere points at)."""
    return [sys.executable, "-m", "tinykube.main"]


def _environment(tmp: Path) -> dict[str, str]:
    pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")]))
    return {**os.environ, "PYTHONPATH": pythonpath, "CRI_CONFIG_FILE": str(tmp / "crictl.yaml")}


class Cli:
    def __init__(self, target: Target, tmp: Path) -> None:
        self.target = target
        self.env = _environment(tmp)

    async def __call__(self, *argv: str) -> Run:
        process = await asyncio.create_subprocess_exec(
            *_tinykube(),
            "crictl",
            "-r",
            self.target.endpoint,
            "--timeout",
            "60s",
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env,
        )
        out, err = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode is not None
        return Run(process.returncode, out.decode(), err.decode())

    async def ok(self, *argv: str) -> str:
        result = await self(*argv)
        assert result.code == 0, f"crictl {' '.join(argv)}: {result.err}"
        assert "Traceback" not in result.err
        return result.out


async def _serve_shim(backend: str, tmp: Path) -> AsyncIterator[Target]:
    backends.load(backend)  # a shim of this project that fails to import fails the test
    socket = tmp / "run" / f"{backend}.sock"
    process = await asyncio.create_subprocess_exec(
        *_tinykube(),
        "shim",
        "--backend",
        backend,
        "--socket",
        str(socket),
        "--log-level",
        "warning",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env=_environment(tmp),
    )
    target = Target(f"unix://{socket}", runs_processes=backend != "fake", streams=backend != "fake")
    try:
        await _until_serving(target.endpoint)
        yield target
    finally:
        if process.returncode is None:
            process.terminate()
        await asyncio.wait_for(process.wait(), 30)


async def _until_serving(endpoint: str, timeout: float = 30.0) -> None:
    """gRPC waits for the channel to become ready (the socket may not exist yet)."""
    from cri.client import CRIClient

    client = await CRIClient.connect(endpoint, connect_timeout=timeout)
    await client.close()


RUNC_MARKS = (pytest.mark.integration, pytest.mark.needs_host("registry"))


async def _open_target(name: str, tmp: Path) -> AsyncIterator[Target]:
    if name == "containerd":
        yield Target(CONTAINERD, runs_processes=True, streams=True)
        return
    async for served in _serve_shim(name, tmp):
        yield served


@pytest.fixture(
    params=[
        "fake",
        pytest.param("containerd", marks=CONTAINERD_MARKS),
        pytest.param("runc", marks=RUNC_MARKS),
    ]
)
async def target(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Target]:
    async for opened in _open_target(request.param, tmp_path):
        yield opened


@pytest.fixture(
    params=[pytest.param("containerd", marks=CONTAINERD_MARKS), pytest.param("runc", marks=RUNC_MARKS)]
)
async def streaming_target(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Target]:
    """Only runtimes with a streaming server (the fake's Unimplemented is checked above)."""
    async for opened in _open_target(request.param, tmp_path):
        yield opened


def _configs(tmp: Path) -> tuple[Path, Path]:
    pod = {
        "metadata": {
            "name": "crictl-session",
            "namespace": "crictl-test",
            "uid": str(uuid.uuid4()),
            "attempt": 0,
        },
        "log_directory": str(tmp / "logs"),
        "labels": {"suite": "crictl"},
        "linux": {"security_context": {"namespace_options": {"network": "NODE"}}},
    }
    container = {
        "metadata": {"name": "main"},
        "image": {"image": BUSYBOX},
        "command": ["sh", "-c", "echo started; exec sleep 3600"],
        "log_path": "main/0.log",
        "labels": {"io.kubernetes.container.name": "main"},
        "linux": {},
    }
    pod_path, container_path = tmp / "pod.json", tmp / "container.yaml"
    pod_path.write_text(json.dumps(pod))
    container_path.write_text(json.dumps(container))  # JSON is YAML too
    return pod_path, container_path


async def _eventually_logs(cli: Cli, container: str, text: str, timeout: float = 30.0) -> str:
    async def wait() -> str:
        while True:
            result = await cli("logs", container)
            if result.code == 0 and text in result.out:
                return result.out
            await asyncio.sleep(0.2)

    return await asyncio.wait_for(wait(), timeout)


async def test_scripted_session(target: Target, tmp_path: Path) -> None:
    cli = Cli(target, tmp_path)
    pod_config, container_config = _configs(tmp_path)

    was_present = (await cli("inspecti", BUSYBOX)).code == 0
    pulled = await cli.ok("pull", BUSYBOX)
    assert pulled.startswith("Image is up to date for sha256:")
    image_id = pulled.split()[-1]

    pod = (await cli.ok("runp", str(pod_config))).strip()
    try:
        await _session(cli, target, pod, image_id, pod_config, container_config)
    finally:
        await cli("rmp", "-f", pod)
    assert (await cli.ok("pods", "-q", "--id", pod)) == ""
    assert f"Deleted: {BUSYBOX}" in await cli.ok("rmi", BUSYBOX)
    if was_present:  # leave a shared runtime's images as they were
        await cli.ok("pull", BUSYBOX)


async def _session(
    cli: Cli, target: Target, pod: str, image_id: str, pod_config: Path, container_config: Path
) -> None:
    container = (await cli.ok("create", pod, str(container_config), str(pod_config))).strip()
    assert len(pod) == 64 and len(container) == 64
    assert (await cli.ok("start", container)).strip() == container

    ps = (await cli.ok("ps", "--pod", pod)).splitlines()
    assert ps[0].split() == [
        "CONTAINER",
        "IMAGE",
        "CREATED",
        "STATE",
        "NAME",
        "ATTEMPT",
        "POD",
        "ID",
        "POD",
        "NAMESPACE",
    ]
    assert ps[1].split()[:1] == [container[:13]] and "Running" in ps[1] and pod[:13] in ps[1]
    pods = (await cli.ok("pods", "--id", pod)).splitlines()
    assert pods[1].split()[0] == pod[:13] and "Ready" in pods[1] and "crictl-session" in pods[1]

    status = json.loads(await cli.ok("inspect", container[:13]))["status"]
    assert (status["id"], status["state"], status["metadata"]["name"]) == (
        container,
        "CONTAINER_RUNNING",
        "main",
    )
    by_ref = json.loads(await cli.ok("inspecti", status["imageRef"]))["status"]  # an id or a repo digest
    assert by_ref["id"] == image_id
    pod_status = json.loads(await cli.ok("inspectp", pod))["status"]
    assert (pod_status["id"], pod_status["state"]) == (pod, "SANDBOX_READY")
    image = json.loads(await cli.ok("inspecti", BUSYBOX))["status"]
    assert image["id"] == image_id and BUSYBOX in image["repoTags"]

    echoed = await cli("exec", "-s", container, "echo", "hello")
    assert echoed.code == 0, echoed.err
    failed = await cli("exec", "-s", container, "sh", "-c", "exit 3")
    assert failed.code == (3 if target.runs_processes else 0)
    for transport in ("spdy", "websocket"):
        streamed = await cli("exec", "--transport", transport, container, "echo", "streamed")
        if target.streams:
            assert (streamed.code, streamed.out) == (0, "streamed\n"), streamed.err
        else:
            assert streamed.code == 1 and "code = Unimplemented" in streamed.err
    if target.runs_processes:
        assert echoed.out == "hello\n"
        assert "started\n" in await _eventually_logs(cli, container, "started")
        stats = json.loads(await cli.ok("stats", "-o", "json", "--id", container))["stats"]
        assert [s["attributes"]["id"] for s in stats] == [container]
    else:
        missing_log = await cli("logs", container)
        assert missing_log.code == 1 and "main/0.log" in missing_log.err

    assert (await cli.ok("stop", container)).strip() == container
    assert "Exited" in (await cli.ok("ps", "-a", "--id", container))
    assert (await cli.ok("rm", container)).strip() == container
    assert (await cli.ok("ps", "-aq", "--pod", pod)) == ""
    assert (await cli.ok("stopp", pod)) == f"Stopped sandbox {pod}\n"
    assert (await cli.ok("rmp", pod)) == f"Removed sandbox {pod}\n"


@pytest.mark.parametrize("transport", ["spdy", "websocket"])
async def test_port_forward_reaches_a_server_in_the_pod(
    target: Target, tmp_path: Path, transport: str
) -> None:
    cli = Cli(target, tmp_path)
    pod_config, container_config = _configs(tmp_path)
    container = json.loads(container_config.read_text())
    container["command"] = ["sh", "-c", "while true; do echo hello-from-pod | nc -l -p 18555; done"]
    container_config.write_text(json.dumps(container))
    await cli.ok("pull", BUSYBOX)
    pod = (await cli.ok("runp", str(pod_config))).strip()
    try:
        container_id = (await cli.ok("create", pod, str(container_config), str(pod_config))).strip()
        await cli.ok("start", container_id)
        await _forward_and_read(cli, target, pod, transport)
    finally:
        await cli("rmp", "-f", pod)


async def _forward_and_read(cli: Cli, target: Target, pod: str, transport: str) -> None:
    process = await asyncio.create_subprocess_exec(
        *_tinykube(),
        "crictl",
        "-r",
        target.endpoint,
        "port-forward",
        "--transport",
        transport,
        pod,
        ":18555",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cli.env,
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        if transport == "spdy" and not target.streams:  # SPDY connects up front: it fails at once
            assert await asyncio.wait_for(process.wait(), 30) == 1
            assert "code = Unimplemented" in (await process.stderr.read()).decode()
            return
        banner = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        assert banner.startswith("Forwarding from 127.0.0.1:") and banner.endswith(" -> 18555\n"), banner
        local_port = int(banner.split(":")[1].split(" ")[0])
        received = await _read_once(local_port, retry=target.streams)
        if target.streams:
            assert received == b"hello-from-pod\n"
        else:
            assert received == b""
            error = (await asyncio.wait_for(process.stderr.readline(), 30)).decode()
            assert "code = Unimplemented" in error
    finally:
        if process.returncode is None:
            process.terminate()
        await asyncio.wait_for(process.wait(), 30)


async def _read_once(port: int, *, retry: bool) -> bytes:
    """What the pod's server sends on one connection, read until it closes (retried while it starts)."""

    async def attempt() -> bytes:
        while True:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            data = await reader.read()
            writer.close()
            await writer.wait_closed()
            if data or not retry:
                return data
            await asyncio.sleep(0.2)  # the pod's nc may not listen yet: connect again

    try:
        return await asyncio.wait_for(attempt(), 5)
    except TimeoutError:
        return b""


class Terminal:
    """`tinykube crictl` on a pseudo-terminal: type into it and wait for what it prints."""

    def __init__(self, rows: int, columns: int) -> None:
        import fcntl
        import struct
        import termios

        self.controller, self.terminal = os.openpty()
        fcntl.ioctl(self.terminal, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.output = b""
        self._arrived = asyncio.Event()

    async def start(self, cli: Cli, *argv: str) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            *_tinykube(),
            "crictl",
            "-r",
            cli.target.endpoint,
            "--timeout",
            "60s",
            *argv,
            stdin=self.terminal,
            stdout=self.terminal,
            stderr=self.terminal,
            env=cli.env,
        )
        asyncio.get_running_loop().add_reader(self.controller, self._read)
        return process

    def _read(self) -> None:
        try:
            self.output += os.read(self.controller, 4096)
        except OSError:
            asyncio.get_running_loop().remove_reader(self.controller)
        self._arrived.set()

    def type(self, keys: bytes) -> None:
        os.write(self.controller, keys)

    async def expect(self, text: bytes, timeout: float = 30.0) -> None:
        try:
            async with asyncio.timeout(timeout):
                while text not in self.output:
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            raise AssertionError(f"{text!r} never appeared; the terminal shows {self.output!r}") from None

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.controller)
        os.close(self.controller)
        os.close(self.terminal)


@pytest.mark.parametrize("transport", ["spdy", "websocket"])
async def test_interactive_exec_and_attach_on_a_terminal(
    streaming_target: Target, tmp_path: Path, transport: str
) -> None:
    cli = Cli(streaming_target, tmp_path)
    pod_config, container_config = _configs(tmp_path)
    shell = json.loads(container_config.read_text())
    shell.update(metadata={"name": "shell"}, command=["sh"], stdin=True, tty=True, log_path="shell/0.log")
    shell_config = tmp_path / "shell.json"
    shell_config.write_text(json.dumps(shell))
    await cli.ok("pull", BUSYBOX)
    pod = (await cli.ok("runp", str(pod_config))).strip()
    try:
        sleeper = (await cli.ok("create", pod, str(container_config), str(pod_config))).strip()
        attachable = (await cli.ok("create", pod, str(shell_config), str(pod_config))).strip()
        await cli.ok("start", sleeper, attachable)
        await _exec_on_terminal(cli, sleeper, transport)
        await _attach_and_detach(cli, attachable, transport)
        assert "Running" in await cli.ok("ps", "--id", attachable)
    finally:
        await cli("rmp", "-f", pod)


async def _exec_on_terminal(cli: Cli, container: str, transport: str) -> None:
    terminal = Terminal(rows=37, columns=101)
    try:
        # `sleep 1`: containerd applies the first size only after the process starts
        script = "sleep 1; stty size; read x; echo got:$x"
        process = await terminal.start(
            cli, "exec", "-it", "--transport", transport, container, "sh", "-c", script
        )
        await terminal.expect(b"37 101")
        terminal.type(b"hello\r")
        await terminal.expect(b"got:hello")
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        terminal.close()


async def _attach_and_detach(cli: Cli, container: str, transport: str) -> None:
    terminal = Terminal(rows=24, columns=80)
    try:
        process = await terminal.start(cli, "attach", "-it", "--transport", transport, container)
        await terminal.expect(b"/ # ")  # the shell redraws its prompt on the first resize: attached
        terminal.type(b"echo hi-$((40+2))\r")
        await terminal.expect(b"hi-42")
        terminal.type(b"\x10\x11")  # ctrl-p ctrl-q: detach, the shell keeps running
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        terminal.close()
