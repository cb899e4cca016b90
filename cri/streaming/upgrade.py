"""Upgrading a redeemed request to SPDY/3.1 or WebSocket and running its session."""

from __future__ import annotations

import contextlib
import logging

from aiohttp import hdrs, web

from cri.streaming.backend import PortConnection, StreamingProcess, StreamingRuntime, TerminalSize
from cri.streaming.negotiation import (
    PORT_FORWARD_PROTOCOL,
    SPDY_TUNNEL_PROTOCOL,
    STREAM_PROTOCOL_HEADER,
    WEBSOCKET_COMMAND_PROTOCOLS,
    WEBSOCKET_PORT_FORWARD_PROTOCOLS,
    ChannelProtocol,
    choose_first_offered,
    choose_spdy_command_protocol,
    offered,
)
from cri.streaming.portforward import Dialer
from cri.streaming.remotecommand import ProcessStarter
from cri.streaming.spdy_command import expected_streams, serve_spdy_command
from cri.streaming.spdy_portforward import serve_spdy_port_forward
from cri.streaming.tokens import StreamRequest
from cri.streaming.transport import UpgradedConnection, WebSocketBytes
from cri.streaming.types import AttachSpec, ExecSpec, PortForwardSpec
from cri.streaming.ws_command import serve_websocket_command
from cri.streaming.ws_portforward import requested_ports, serve_websocket_port_forward

log = logging.getLogger(__name__)

SPDY_UPGRADE = "SPDY/3.1"
CommandSpec = ExecSpec | AttachSpec


class SessionHandler:
    def __init__(self, runtime: StreamingRuntime) -> None:
        self._runtime = runtime

    async def serve(self, request: web.Request, stream_request: StreamRequest) -> web.StreamResponse:
        upgrade = request.headers.get(hdrs.UPGRADE, "").lower()
        if upgrade == "websocket":
            return await self._websocket(request, stream_request)
        if upgrade == SPDY_UPGRADE.lower():
            return await self._spdy(request, stream_request)
        raise web.HTTPBadRequest(
            text=f"unable to upgrade: Upgrade header {upgrade!r}: want SPDY/3.1 or websocket\n"
        )

    async def _spdy(self, request: web.Request, stream_request: StreamRequest) -> web.StreamResponse:
        offers = offered(request.headers.getall(STREAM_PROTOCOL_HEADER, []))
        if isinstance(stream_request, PortForwardSpec):
            if offers and PORT_FORWARD_PROTOCOL not in offers:
                raise _forbidden(offers, [PORT_FORWARD_PROTOCOL])
            response = await _switch_to_spdy(request, PORT_FORWARD_PROTOCOL)
            log.info("port-forward session transport=spdy sandbox=%s", stream_request.pod_sandbox_id)
            await serve_spdy_port_forward(
                UpgradedConnection(request),
                dialer=self._dialer(stream_request),
                allowed_ports=stream_request.ports,
            )
            return response
        protocol = choose_spdy_command_protocol(offers) if offers else ChannelProtocol.V1
        if protocol is None:
            raise _forbidden(
                offers,
                [
                    p.value
                    for p in (ChannelProtocol.V4, ChannelProtocol.V3, ChannelProtocol.V2, ChannelProtocol.V1)
                ],
            )
        response = await _switch_to_spdy(request, protocol.value if offers else None)
        spec = stream_request
        log.info(
            "%s session transport=spdy protocol=%s container=%s",
            _kind(spec),
            protocol.value,
            spec.container_id,
        )
        await serve_spdy_command(
            UpgradedConnection(request),
            protocol=protocol,
            expected=expected_streams(
                tty=spec.tty, stdin=spec.stdin, stdout=spec.stdout, stderr=spec.stderr, protocol=protocol
            ),
            start=self._starter(spec),
            tty=spec.tty,
            attach=isinstance(spec, AttachSpec),
            cmd=_cmd(spec),
        )
        return response

    async def _websocket(self, request: web.Request, stream_request: StreamRequest) -> web.StreamResponse:
        offers = offered(request.headers.getall(hdrs.SEC_WEBSOCKET_PROTOCOL, []))
        if isinstance(stream_request, PortForwardSpec):
            return await self._websocket_port_forward(request, stream_request, offers)
        supported = [p.value for p in WEBSOCKET_COMMAND_PROTOCOLS]
        chosen = choose_first_offered(offers, supported)
        if offers and chosen is None:
            raise _forbidden(offers, supported)
        ws = await _accept_websocket(request, chosen)
        protocol = ChannelProtocol(chosen) if chosen else ChannelProtocol.V1
        spec = stream_request
        log.info(
            "%s session transport=websocket protocol=%s container=%s",
            _kind(spec),
            protocol.value,
            spec.container_id,
        )
        await serve_websocket_command(
            ws,
            protocol=protocol,
            start=self._starter(spec),
            tty=spec.tty,
            stdin=spec.stdin,
            stdout=spec.stdout,
            stderr=spec.stderr,
            attach=isinstance(spec, AttachSpec),
            cmd=_cmd(spec),
        )
        return ws

    async def _websocket_port_forward(
        self, request: web.Request, spec: PortForwardSpec, offers: list[str]
    ) -> web.StreamResponse:
        chosen = choose_first_offered(offers, WEBSOCKET_PORT_FORWARD_PROTOCOLS)
        if offers and chosen is None:
            raise _forbidden(offers, list(WEBSOCKET_PORT_FORWARD_PROTOCOLS))
        dialer = self._dialer(spec)
        if chosen == SPDY_TUNNEL_PROTOCOL:
            ws = await _accept_websocket(request, chosen)
            log.info("port-forward session transport=websocket-spdy-tunnel sandbox=%s", spec.pod_sandbox_id)
            await serve_spdy_port_forward(WebSocketBytes(ws), dialer=dialer, allowed_ports=spec.ports)
            return ws
        ports = requested_ports(request.query.get("ports"), spec.ports)
        if isinstance(ports, str):
            raise web.HTTPBadRequest(text=ports + "\n")
        if not ports:
            raise web.HTTPBadRequest(text="port-forward over WebSocket needs at least one port\n")
        ws = await _accept_websocket(request, chosen)
        log.info("port-forward session transport=websocket sandbox=%s ports=%s", spec.pod_sandbox_id, ports)
        await serve_websocket_port_forward(
            ws, ports=ports, dialer=dialer, base64_text=chosen == ChannelProtocol.V4_BASE64.value
        )
        return ws

    def _starter(self, spec: CommandSpec) -> ProcessStarter:
        runtime = self._runtime

        async def start(size: TerminalSize | None) -> StreamingProcess:
            if isinstance(spec, ExecSpec):
                return await runtime.start_exec(spec, terminal_size=size if spec.tty else None)
            process = await runtime.attach(spec)
            if size is not None and spec.tty:
                with contextlib.suppress(OSError):
                    await process.resize(size)
            return process

        return start

    def _dialer(self, spec: PortForwardSpec) -> Dialer:
        runtime = self._runtime

        async def dial(port: int) -> PortConnection:
            return await runtime.dial_port(spec.pod_sandbox_id, port)

        return dial


async def _switch_to_spdy(request: web.Request, protocol: str | None) -> web.StreamResponse:
    headers: dict[str, str] = {hdrs.CONNECTION: "Upgrade", hdrs.UPGRADE: SPDY_UPGRADE}
    if protocol is not None:
        headers[STREAM_PROTOCOL_HEADER] = protocol
    response = web.StreamResponse(status=101, reason="Switching Protocols", headers=headers)
    await response.prepare(request)
    return response


async def _accept_websocket(request: web.Request, protocol: str | None) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(
        protocols=(protocol,) if protocol else (), compress=False, max_msg_size=16 * 1024 * 1024
    )
    await ws.prepare(request)
    return ws


def _forbidden(offers: list[str], supported: list[str]) -> web.HTTPForbidden:
    return web.HTTPForbidden(
        text=(
            "unable to upgrade: unable to negotiate protocol: "
            f"client supports {offers}, server accepts {supported}\n"
        )
    )


def _kind(spec: CommandSpec) -> str:
    return "exec" if isinstance(spec, ExecSpec) else "attach"


def _cmd(spec: CommandSpec) -> tuple[str, ...]:
    return spec.cmd if isinstance(spec, ExecSpec) else ()
