"""Which subprotocol a session speaks, from what the client offers."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

STREAM_PROTOCOL_HEADER = "X-Stream-Protocol-Version"
PORT_FORWARD_PROTOCOL = "portforward.k8s.io"
SPDY_TUNNEL_PROTOCOL = "SPDY/3.1+portforward.k8s.io"


class ChannelProtocol(Enum):
    """Kubernetes remotecommand protocol versions (exec/attach)."""

    V1 = "channel.k8s.io"
    V2 = "v2.channel.k8s.io"
    V3 = "v3.channel.k8s.io"
    V4 = "v4.channel.k8s.io"
    V5 = "v5.channel.k8s.io"
    V1_BASE64 = "base64.channel.k8s.io"
    V4_BASE64 = "v4.base64.channel.k8s.io"

    @property
    def status_json(self) -> bool:
        """v4 and later put a metav1.Status on the error channel; older ones plain text."""
        return self in (ChannelProtocol.V4, ChannelProtocol.V5, ChannelProtocol.V4_BASE64)

    @property
    def has_resize(self) -> bool:
        return self not in (ChannelProtocol.V1, ChannelProtocol.V2, ChannelProtocol.V1_BASE64)

    @property
    def base64(self) -> bool:
        return self in (ChannelProtocol.V1_BASE64, ChannelProtocol.V4_BASE64)


SPDY_COMMAND_PROTOCOLS = (ChannelProtocol.V4, ChannelProtocol.V3, ChannelProtocol.V2, ChannelProtocol.V1)
WEBSOCKET_COMMAND_PROTOCOLS = (
    ChannelProtocol.V5,
    ChannelProtocol.V4,
    ChannelProtocol.V4_BASE64,
    ChannelProtocol.V1_BASE64,
    ChannelProtocol.V1,
)
WEBSOCKET_PORT_FORWARD_PROTOCOLS = (
    SPDY_TUNNEL_PROTOCOL,
    ChannelProtocol.V4.value,
    ChannelProtocol.V4_BASE64.value,
    PORT_FORWARD_PROTOCOL,
)


def offered(header_values: Iterable[str]) -> list[str]:
    """Protocols from (possibly repeated, comma-separated) header values, in offer order."""
    return [item.strip() for value in header_values for item in value.split(",") if item.strip()]


def choose_spdy_command_protocol(offers: list[str]) -> ChannelProtocol | None:
    """Our most preferred version among the client's offers (like the kubelet)."""
    return next((protocol for protocol in SPDY_COMMAND_PROTOCOLS if protocol.value in offers), None)


def choose_first_offered(offers: list[str], supported: Iterable[str]) -> str | None:
    """The client's first offer we support (WebSocket negotiation order)."""
    known = set(supported)
    return next((offer for offer in offers if offer in known), None)
