"""CNI: the first network config list in a directory, run plugin by plugin (ADD in order, DEL reversed).

Plugins are processes: stdin = the plugin's config (with ``name``, ``cniVersion``, ``prevResult`` and
``runtimeConfig`` for the capabilities it declares), env ``CNI_*``; stdout = the result or an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from cri import domain as d
from cri.errors import CRIError

PLUGIN_TIMEOUT_SECONDS = 30.0
IFNAME = "eth0"
PROTOCOLS = {d.Protocol.TCP: "tcp", d.Protocol.UDP: "udp", d.Protocol.SCTP: "sctp"}


class CNIError(CRIError):
    """A plugin failed; the message names the plugin and its error."""

    code = grpc.StatusCode.INTERNAL


class CNITimeout(CNIError):
    """A plugin did not answer in time; the message names the plugin, the step and the network."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED


@dataclass(frozen=True, kw_only=True, slots=True)
class NetworkList:
    name: str
    cni_version: str
    plugins: tuple[Mapping[str, Any], ...]
    source: Path


@dataclass(frozen=True, kw_only=True, slots=True)
class Attachment:
    """Who is being attached: the CNI_* environment of every call."""

    container_id: str
    netns: str
    pod_name: str
    pod_namespace: str
    port_mappings: tuple[d.PortMapping, ...] = ()
    dns: d.DNSConfig | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class AddResult:
    ips: tuple[str, ...]
    raw: Mapping[str, Any] = field(default_factory=dict)


def find_network(conf_dir: Path) -> NetworkList | None:
    """Blocking: the first valid ``*.conflist``/``*.conf``/``*.json`` in ``conf_dir`` by name."""
    try:
        candidates = sorted(p for p in conf_dir.iterdir() if p.suffix in (".conflist", ".conf", ".json"))
    except FileNotFoundError:
        return None
    for path in candidates:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            network = _network_from(data, path)
            if network is not None:
                return network
    return None


def _network_from(data: Mapping[str, Any], path: Path) -> NetworkList | None:
    plugins = data.get("plugins") if "plugins" in data else [data]
    if (
        not isinstance(plugins, list)
        or not plugins
        or not all(isinstance(p, dict) and "type" in p for p in plugins)
    ):
        return None
    return NetworkList(
        name=str(data.get("name", "")),
        cni_version=str(data.get("cniVersion", "0.4.0")),
        plugins=tuple(plugins),
        source=path,
    )


def runtime_config(plugin: Mapping[str, Any], attachment: Attachment) -> dict[str, Any]:
    capabilities = plugin.get("capabilities") or {}
    result: dict[str, Any] = {}
    if capabilities.get("portMappings") and attachment.port_mappings:
        result["portMappings"] = [
            {
                "hostPort": p.host_port,
                "containerPort": p.container_port,
                "protocol": PROTOCOLS.get(p.protocol, "tcp"),
                "hostIP": p.host_ip,
            }
            for p in attachment.port_mappings
            if p.host_port > 0
        ]
    if capabilities.get("dns") and attachment.dns is not None:
        dns = attachment.dns
        result["dns"] = {
            "servers": list(dns.servers),
            "searches": list(dns.searches),
            "options": list(dns.options),
        }
    return result


def plugin_stdin(
    network: NetworkList,
    plugin: Mapping[str, Any],
    attachment: Attachment,
    prev_result: Mapping[str, Any] | None,
) -> bytes:
    config = dict(plugin)
    config["name"] = network.name
    config["cniVersion"] = network.cni_version
    if prev_result is not None:
        config["prevResult"] = prev_result
    extra = runtime_config(plugin, attachment)
    if extra:
        config["runtimeConfig"] = extra
    return json.dumps(config).encode()


def find_plugin(plugin_type: str, bin_dirs: Sequence[Path]) -> Path:
    for directory in bin_dirs:
        candidate = directory / plugin_type
        if os.access(candidate, os.X_OK):
            return candidate
    raise CNIError(f"CNI plugin {plugin_type!r} not found in {', '.join(map(str, bin_dirs))}")


async def _call(
    command: str,
    network: NetworkList,
    plugin: Mapping[str, Any],
    attachment: Attachment,
    *,
    bin_dirs: Sequence[Path],
    prev_result: Mapping[str, Any] | None,
    timeout: float,
) -> dict[str, Any]:
    binary = find_plugin(str(plugin["type"]), bin_dirs)
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": attachment.container_id,
        "CNI_NETNS": attachment.netns,
        "CNI_IFNAME": IFNAME,
        "CNI_PATH": ":".join(str(p) for p in bin_dirs),
        "CNI_ARGS": f"IgnoreUnknown=1;K8S_POD_NAMESPACE={attachment.pod_namespace};"
        f"K8S_POD_NAME={attachment.pod_name};K8S_POD_INFRA_CONTAINER_ID={attachment.container_id}",
    }
    process = await asyncio.create_subprocess_exec(
        str(binary),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        start_new_session=True,  # its own process group: a timeout kills what it started too
    )
    stdin = plugin_stdin(network, plugin, attachment, prev_result)
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin), timeout)
    except TimeoutError:
        await _kill_group(process)
        raise CNITimeout(
            f"CNI plugin {plugin['type']} {command} on network {network.name!r} "
            f"did not answer within {timeout:g}s"
        ) from None
    except BaseException:
        await _kill_group(process)
        raise
    if process.returncode != 0:
        raise CNIError(f"CNI plugin {plugin['type']} {command} failed: {_error_text(out, err)}")
    if not out.strip():
        return {}
    parsed: dict[str, Any] = json.loads(out)
    return parsed


async def _kill_group(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    await process.wait()


def _error_text(out: bytes, err: bytes) -> str:
    try:
        data = json.loads(out)
        return f"{data.get('msg', '')} {data.get('details', '')}".strip()
    except ValueError:
        return (out or err).decode(errors="replace").strip()


async def add(
    network: NetworkList,
    attachment: Attachment,
    *,
    bin_dirs: Sequence[Path],
    timeout: float = PLUGIN_TIMEOUT_SECONDS,
) -> AddResult:
    result: dict[str, Any] | None = None
    for plugin in network.plugins:
        result = await _call(
            "ADD", network, plugin, attachment, bin_dirs=bin_dirs, prev_result=result, timeout=timeout
        )
    final = result or {}
    ips = tuple(str(ip["address"]).split("/")[0] for ip in final.get("ips", []) if "address" in ip)
    return AddResult(ips=ips, raw=final)


async def delete(
    network: NetworkList,
    attachment: Attachment,
    *,
    bin_dirs: Sequence[Path],
    prev_result: Mapping[str, Any] | None,
    timeout: float = PLUGIN_TIMEOUT_SECONDS,
) -> None:
    """DEL every plugin (reversed); all are tried, the first failure is raised at the end."""
    first_error: CNIError | None = None
    for plugin in reversed(network.plugins):
        try:
            await _call(
                "DEL", network, plugin, attachment,
                bin_dirs=bin_dirs, prev_result=prev_result, timeout=timeout,
            )  # fmt: skip
        except CNIError as exc:
            first_error = first_error or exc
    if first_error is not None:
        raise first_error
