"""Structured output as crictl writes it: protojson of CRI messages, Go's JSON, YAML and templates.

crictl marshals CRI messages with protojson (lowerCamelCase names, unpopulated fields included,
64-bit integers as strings, enums by name) and, for ``inspect*``/``info``, re-marshals the result
through Go maps, which sorts every object's keys.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
from collections.abc import Mapping
from typing import Any, TextIO

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from cri.convert import to_proto
from cri.crictl.session import CommandError

_STRING_INTEGERS = frozenset(
    {
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED64,
    }
)
_HTML_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
OUTPUT_FORMATS = ("json", "yaml", "go-template")


class OutputError(CommandError):
    """An output option or template that cannot be honoured (shown to the user as is)."""


def message_data(message: Message) -> dict[str, Any]:
    """protojson with EmitUnpopulated, in declaration order."""
    return {field.json_name: _field_data(message, field) for field in _fields(message.DESCRIPTOR)}


def _fields(descriptor: Any) -> list[FieldDescriptor]:
    fields: list[FieldDescriptor] = list(descriptor.fields)
    return fields


def _field_data(message: Message, field: FieldDescriptor) -> Any:
    value = getattr(message, field.name)
    if _is_map(field):
        value_field = _message_type(field).fields_by_name["value"]
        return {str(k): _scalar(value_field, value[k]) for k in sorted(value)}
    if field.is_repeated:
        return [_scalar(field, item) for item in value]
    if field.type == FieldDescriptor.TYPE_MESSAGE and not message.HasField(field.name):
        return None
    return _scalar(field, value)


def _message_type(field: FieldDescriptor) -> Descriptor:
    assert field.message_type is not None
    return field.message_type


def _is_map(field: FieldDescriptor) -> bool:
    return (
        field.type == FieldDescriptor.TYPE_MESSAGE
        and field.message_type is not None
        and field.message_type.GetOptions().map_entry
    )


def _scalar(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return message_data(value)
    if field.type in _STRING_INTEGERS:
        return str(value)
    if field.type == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type is not None
        enum_value = field.enum_type.values_by_number.get(value)
        return enum_value.name if enum_value is not None else value
    if field.type == FieldDescriptor.TYPE_BYTES:
        return base64.b64encode(value).decode()
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return _go_float(value)
    return value


def _go_float(value: float) -> float | int:
    return int(value) if value.is_integer() and abs(value) < 1e21 else value


def go_struct_data(obj: Any) -> Any:
    """``encoding/json`` of the Go struct: snake_case json tags with ``omitempty``, enums as numbers."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        values = ((f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj))
        return {name: go_struct_data(value) for name, value in values if not _go_empty(value)}
    if isinstance(obj, Mapping):
        return {str(k): go_struct_data(v) for k, v in sorted(obj.items())}
    if isinstance(obj, tuple | list):
        return [go_struct_data(v) for v in obj]
    if isinstance(obj, bytes):
        return base64.b64encode(obj).decode()
    if isinstance(obj, enum.IntEnum):
        return int(obj)
    return obj


def _go_empty(value: Any) -> bool:
    """What ``omitempty`` leaves out: zero scalars, nil pointers, empty slices and maps (not structs)."""
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return not value
    return isinstance(value, Mapping | tuple | list) and not value


def domain_data(obj: Any, message_cls: type[Message]) -> dict[str, Any]:
    """A domain object as crictl prints the CRI message that carries it."""
    return message_data(to_proto(obj, message_cls))


def go_json(data: Any, *, indent: bool = True) -> str:
    """encoding/json (HTML-safe escaping) with ``json.Indent(.., "", "  ")`` when ``indent``."""
    text = json.dumps(
        _normalise(data),
        indent=2 if indent else None,
        ensure_ascii=False,
        separators=None if indent else (",", ":"),
    )
    for char, escape in _HTML_ESCAPES.items():
        text = text.replace(char, escape)
    return text


def _normalise(data: Any) -> Any:
    if isinstance(data, float):
        return _go_float(data)
    if isinstance(data, Mapping):
        return {k: _normalise(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_normalise(v) for v in data]
    return data


def sort_keys(data: Any) -> Any:
    """What a round trip through Go's ``map[string]any`` does: sort every object's keys."""
    if isinstance(data, Mapping):
        return {k: sort_keys(data[k]) for k in sorted(data)}
    if isinstance(data, list):
        return [sort_keys(v) for v in data]
    return data


def parse_info_value(text: str) -> Any:
    """Runtimes send verbose ``info`` values as JSON text; anything else is shown as a string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def status_document(
    status: Any,
    info: Mapping[str, str],
    *,
    runtime_handlers: list[Any] | None = None,
    features: Any = None,
) -> dict[str, Any]:
    """crictl's outputStatusInfo: ``status``, ``runtimeHandlers`` and ``features`` if any, each info key."""
    document: dict[str, Any] = {}
    if status is not None:
        document["status"] = status
    if runtime_handlers:
        document["runtimeHandlers"] = runtime_handlers
    if features is not None:
        document["features"] = features
    for key in sorted(info):
        document[key] = parse_info_value(info[key])
    sorted_document: dict[str, Any] = sort_keys(document)
    return sorted_document


def go_yaml(data: Any) -> str:
    """sigs.k8s.io/yaml's JSONToYAML: sorted keys, block style, double quotes where needed."""
    from cri.crictl.yamlout import dump_yaml

    return dump_yaml(_normalise(data))


def emit(data: Any, output: str, template: str, out: TextIO, *, sort: bool = False) -> None:
    """Print ``data`` as json, yaml or go-template (table output is each command's own)."""
    if output == "json":
        out.write(go_json(sort_keys(data) if sort else data) + "\n")
    elif output == "yaml":
        out.write(go_yaml(sort_keys(data) if sort else data) + "\n")
    elif output == "go-template":
        from cri.crictl.gotemplate import TemplateError, render

        try:
            out.write(render(template, json.loads(go_json(data, indent=False))) + "\n")
        except TemplateError as exc:
            raise OutputError(str(exc)) from None
    else:
        raise OutputError(f"unsupported output format {output!r}")
