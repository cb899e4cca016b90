"""Pod and container config files for runp, create and run: CRI messages as JSON or YAML.

Keys may be snake_case (as crictl's examples write them) or lowerCamelCase; a key that is no field
of the message is an error naming it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message

from cri import domain as d
from cri.convert import from_proto
from cri.crictl.session import CommandError, quote
from cri.v1 import api_pb2 as pb

T = TypeVar("T")


def _read_document(path: str, what: str) -> Any:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise CommandError(f"load {what} config {quote(path)}: {exc.strerror or exc}") from None
    try:
        if path.endswith((".yaml", ".yml")):
            import yaml

            return yaml.safe_load(text)
        return json.loads(text)
    except ValueError as exc:
        raise CommandError(f"load {what} config {quote(path)}: {exc}") from None
    except Exception as exc:  # yaml.YAMLError, imported lazily
        raise CommandError(f"load {what} config {quote(path)}: {exc}") from None


def _parse(path: str, what: str, message_cls: type[Message], cls: type[T]) -> T:
    document = _read_document(path, what)
    if not isinstance(document, dict):
        raise CommandError(f"load {what} config {quote(path)}: expected a JSON/YAML object")
    try:
        message = json_format.ParseDict(document, message_cls())
    except json_format.ParseError as exc:
        raise CommandError(f"load {what} config {quote(path)}: {exc}") from None
    return from_proto(message, cls)


def load_pod_config(path: str) -> d.PodSandboxConfig:
    return _parse(path, "pod", pb.PodSandboxConfig, d.PodSandboxConfig)


def load_container_config(path: str) -> d.ContainerConfig:
    return _parse(path, "container", pb.ContainerConfig, d.ContainerConfig)
