"""Streaming: Exec, Attach and PortForward URLs and sessions over SPDY/3.1 and WebSocket."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from conformance import images
from conformance.streams import (
    StreamRefused,
    spdy_port_forward,
    spdy_session,
    websocket_port_forward,
    websocket_session,
)
from conformance.workspace import Workspace

pytestmark = [pytest.mark.conformance, pytest.mark.needs("streaming", "processes")]
HTTP_GET = b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n"


def _url_shape(url: str, kind: str) -> None:
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https") and parts.port, url
    assert parts.path.startswith(f"/{kind}/") and len(parts.path) > len(kind) + 2, url


async def test_exec_url(ws: Workspace) -> None:
    """Exec answers http(s)://host:port/exec/<token>: the kubelet proxies kubectl exec to it."""
    _url_shape(await ws.cri.exec(await ws.start(), ["true"]), "exec")


async def test_attach_url(ws: Workspace) -> None:
    """Attach answers an /attach/<token> URL: kubectl attach goes through it."""
    _url_shape(await ws.cri.attach(await ws.start(), stdin=False), "attach")


async def test_port_forward_url(ws: Workspace) -> None:
    """PortForward answers a /portforward/<token> URL: kubectl port-forward goes through it."""
    pod = await ws.run_pod()
    await ws.start(pod)
    _url_shape(await ws.cri.port_forward(pod.id, [80]), "portforward")


async def test_exec_urls_unique(ws: Workspace) -> None:
    """Each Exec gets its own token: tokens are single-use."""
    container_id = await ws.start()
    assert await ws.cri.exec(container_id, ["true"]) != await ws.cri.exec(container_id, ["true"])


async def test_spdy_exec_stdout(ws: Workspace) -> None:
    """SPDY exec returns stdout and Success: crictl exec and kubectl exec (SPDY) rely on it."""
    url = await ws.cri.exec(await ws.start(), ["echo", "over-spdy"])
    result = await spdy_session(url)
    assert result.stdout == b"over-spdy\n" and result.error is None


async def test_spdy_exec_protocol_v4(ws: Workspace) -> None:
    """The SPDY upgrade negotiates a channel protocol (v4 or later) clients know."""
    url = await ws.cri.exec(await ws.start(), ["true"])
    result = await spdy_session(url)
    assert result.protocol in ("v5.channel.k8s.io", "v4.channel.k8s.io")


async def test_spdy_exec_stderr(ws: Workspace) -> None:
    """SPDY exec keeps stderr on its own stream."""
    url = await ws.cri.exec(await ws.start(), ["sh", "-c", "echo out; echo err >&2"])
    result = await spdy_session(url)
    assert (result.stdout, result.stderr) == (b"out\n", b"err\n")


async def test_spdy_exec_exit_code(ws: Workspace) -> None:
    """A non-zero exit ends in a NonZeroExitCode Status with the code: kubectl exec exits with it."""
    url = await ws.cri.exec(await ws.start(), ["sh", "-c", "exit 3"])
    assert (await spdy_session(url)).exit_code == 3


async def test_spdy_exec_stdin(ws: Workspace) -> None:
    """SPDY exec carries stdin to the process: kubectl exec -i pipes data in."""
    url = await ws.cri.exec(await ws.start(), ["cat"], stdin=True)
    assert (await spdy_session(url, stdin=b"piped-in\n")).stdout == b"piped-in\n"


async def test_spdy_exec_tty(ws: Workspace) -> None:
    """A TTY exec runs the command on a terminal: kubectl exec -t."""
    url = await ws.cri.exec(await ws.start(), ["sh", "-c", "test -t 1 && echo on-tty"], tty=True)
    assert b"on-tty" in (await spdy_session(url, tty=True)).stdout


async def test_spdy_token_single_use(ws: Workspace) -> None:
    """A used exec URL cannot be used again: tokens must not be replayable."""
    url = await ws.cri.exec(await ws.start(), ["true"])
    await spdy_session(url)
    with pytest.raises(StreamRefused):
        await spdy_session(url)


ECHO_LINES = ("sh", "-c", "while read line; do echo got-$line; done")
"""An attached main process that answers every line: the session may send its line more than once."""


async def test_spdy_attach(ws: Workspace) -> None:
    """SPDY attach joins the container's stdio: kubectl attach -i talks to the main process."""
    config = ws.container_config(command=ECHO_LINES, stdin=True)
    container_id = await ws.start(config=config)
    url = await ws.cri.attach(container_id, stdin=True)
    assert b"got-hello" in (await spdy_session(url, stdin=b"hello\n", until=b"got-hello")).stdout


async def test_spdy_port_forward(ws: Workspace) -> None:
    """SPDY port-forward reaches a port inside the pod: kubectl port-forward."""
    pod = await ws.run_pod()
    await ws.start(pod, image=images.WEB, command=())
    url = await ws.cri.port_forward(pod.id, [images.WEB_PORT])
    reply = b""
    for _ in range(20):  # httpd may still be starting: a refused connection gives an empty reply
        reply = await spdy_port_forward(url, images.WEB_PORT, HTTP_GET)
        if reply:
            break
        url = await ws.cri.port_forward(pod.id, [images.WEB_PORT])
    assert images.WEB_BODY.encode() in reply


async def test_websocket_exec_stdout(ws: Workspace) -> None:
    """WebSocket exec returns stdout: kubectl >= 1.30 prefers WebSocket."""
    url = await ws.cri.exec(await ws.start(), ["echo", "over-ws"])
    assert (await websocket_session(url)).stdout == b"over-ws\n"


async def test_websocket_exec_exit_code(ws: Workspace) -> None:
    """WebSocket exec reports the exit code in the Status on channel 3."""
    url = await ws.cri.exec(await ws.start(), ["sh", "-c", "exit 5"])
    assert (await websocket_session(url)).exit_code == 5


async def test_websocket_exec_stderr(ws: Workspace) -> None:
    """WebSocket exec keeps stderr on channel 2."""
    url = await ws.cri.exec(await ws.start(), ["sh", "-c", "echo err >&2"])
    assert (await websocket_session(url)).stderr == b"err\n"


async def test_websocket_exec_stdin(ws: Workspace) -> None:
    """WebSocket exec carries stdin on channel 0."""
    url = await ws.cri.exec(await ws.start(), ["head", "-c", "6"], stdin=True)
    assert (await websocket_session(url, stdin=b"ws-in\n")).stdout == b"ws-in\n"


async def test_websocket_attach(ws: Workspace) -> None:
    """WebSocket attach joins the container's stdio."""
    config = ws.container_config(command=ECHO_LINES, stdin=True)
    url = await ws.cri.attach(await ws.start(config=config), stdin=True)
    result = await websocket_session(url, stdin=b"wsattach\n", until=b"got-wsattach")
    assert b"got-wsattach" in result.stdout


async def test_websocket_port_forward(ws: Workspace) -> None:
    """WebSocket port-forward reaches a port inside the pod."""
    pod = await ws.run_pod()
    await ws.start(pod, image=images.WEB, command=())
    reply = b""
    for _ in range(20):
        url = await ws.cri.port_forward(pod.id, [images.WEB_PORT])
        reply = await websocket_port_forward(url, images.WEB_PORT, HTTP_GET)
        if reply:
            break
    assert images.WEB_BODY.encode() in reply
