"""Label selectors (``=``, ``==``, ``!=``, ``in``, ``notin``, exists, ``!key``, ``>``, ``<``) and field
selectors (``=``, ``==``, ``!=``), parsed once per request and matched per object."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from api.machinery.status import ApiError, bad_request

_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_SET_OP = re.compile(r"^\s*(!?)\s*([^\s!=<>(),]+)\s+(in|notin)\s*\((.*)\)\s*$")
_BINARY = re.compile(r"^\s*([^\s!=<>(),]+)\s*(==|=|!=|<|>)\s*(\S*)\s*$")
_EXISTS = re.compile(r"^\s*(!?)\s*([^\s!=<>(),]+)\s*$")


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # "in", "notin", "exists", "!", "gt", "lt"
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        if self.operator == "in":
            return present and labels[self.key] in self.values
        if self.operator == "notin":
            return not present or labels[self.key] not in self.values
        if not present:
            return False
        try:
            value = int(labels[self.key])
        except ValueError:
            return False
        bound = int(next(iter(self.values)))
        return value > bound if self.operator == "gt" else value < bound


@dataclass(frozen=True)
class LabelSelector:
    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(requirement.matches(labels) for requirement in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _check_key(key: str) -> None:
    if not _KEY.match(key) or len(key.rpartition("/")[2]) > 63:
        raise _label_error(f"invalid label key \"{key}\": name part must consist of alphanumeric characters, "
                           "'-', '_' or '.', and must start and end with an alphanumeric character")


def _check_value(value: str) -> None:
    if len(value) > 63 or not _VALUE.match(value):
        raise _label_error(f"invalid label value: \"{value}\": a valid label must be an empty string or "
                           "consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                           "with an alphanumeric character")


def _label_error(message: str) -> ApiError:
    return bad_request(f"unable to parse requirement: {message}")


def _requirement(text: str) -> Requirement:
    if match := _SET_OP.match(text):
        if match.group(1):
            raise bad_request(f"unable to parse requirement: found '!', expected: identifier in {text!r}")
        key, operator = match.group(2), match.group(3)
        values = frozenset(value.strip() for value in match.group(4).split(","))
        _check_key(key)
        for value in values:
            _check_value(value)
        return Requirement(key, operator, values)
    if match := _BINARY.match(text):
        key, operator, value = match.groups()
        _check_key(key)
        if operator in ("<", ">"):
            if not value.lstrip("-").isdigit():
                raise bad_request(f"unable to parse requirement: for 'Gt', 'Lt' operators, the value "
                                  f"must be an integer: {value}")
            return Requirement(key, "gt" if operator == ">" else "lt", frozenset((value,)))
        _check_value(value)
        return Requirement(key, "notin" if operator == "!=" else "in", frozenset((value,)))
    if match := _EXISTS.match(text):
        _check_key(match.group(2))
        return Requirement(match.group(2), "!" if match.group(1) else "exists")
    raise bad_request(f"unable to parse requirement: couldn't parse the selector string \"{text}\"")


def parse_label_selector(text: str | None) -> LabelSelector:
    if not text or not text.strip():
        return LabelSelector()
    return LabelSelector(tuple(_requirement(part) for part in _split_top_level(text)))


def selector_from_match_labels(labels: Mapping[str, str]) -> LabelSelector:
    return LabelSelector(tuple(Requirement(k, "in", frozenset((v,))) for k, v in labels.items()))


FieldGetter = Callable[[dict[str, object]], str]


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    value: str
    equal: bool


@dataclass(frozen=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all((fields.get(r.field, "") == r.value) == r.equal for r in self.requirements)

    def exact(self, field: str) -> str | None:
        """The value a ``field=value`` requirement pins, if any (used to narrow a search)."""
        for requirement in self.requirements:
            if requirement.field == field and requirement.equal:
                return requirement.value
        return None


def _field_requirement(text: str, supported: frozenset[str]) -> FieldRequirement:
    for operator in ("!=", "==", "="):
        key, found, value = text.partition(operator)
        if found:
            key = key.strip()
            if key not in supported:
                raise bad_request(f'field label not supported: {key}')
            return FieldRequirement(key, _unescape(value.strip()), operator != "!=")
    raise bad_request(f"invalid selector: '{text}'; can't understand '{text}'")


def _unescape(value: str) -> str:
    return value.replace("\\,", ",").replace("\\=", "=").replace("\\\\", "\\")


def parse_field_selector(text: str | None, supported: frozenset[str]) -> FieldSelector:
    if not text or not text.strip():
        return FieldSelector()
    parts = re.split(r"(?<!\\),", text)
    return FieldSelector(tuple(_field_requirement(part, supported) for part in parts if part))
