"""List and watch options: selectors, resourceVersion rules and continue tokens."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from aiohttp import web

from api.machinery import status as errors
from api.machinery.selectors import (
    FieldSelector,
    LabelSelector,
    parse_field_selector,
    parse_label_selector,
)
from api.registry.strategy import Object, Strategy


@dataclass(frozen=True)
class Filter:
    strategy: Strategy
    namespace: str
    labels: LabelSelector
    fields: FieldSelector

    def matches(self, obj: Object) -> bool:
        metadata = obj.get("metadata") or {}
        if self.namespace and metadata.get("namespace") != self.namespace:
            return False
        if not self.labels.empty and not self.labels.matches(metadata.get("labels") or {}):
            return False
        return self.fields.empty or self.fields.matches(self.strategy.fields_of(obj))

    @property
    def everything(self) -> bool:
        return self.labels.empty and self.fields.empty


def make_filter(request: web.Request, strategy: Strategy, namespace: str) -> Filter:
    labels = parse_label_selector(request.query.get("labelSelector"))
    fields = parse_field_selector(request.query.get("fieldSelector"), strategy.field_names)
    if strategy.namespaced and not namespace:
        namespace = fields.exact("metadata.namespace") or ""
    return Filter(strategy, namespace, labels, fields)


def parse_revision(text: str | None) -> int | None:
    """None for unset; 0 for "0" (any); N otherwise; 400 when not a number."""
    if text is None or text == "":
        return None
    if not text.isdigit():
        raise errors.bad_request(f'invalid resource version "{text}": must be a non-negative integer')
    return int(text)


def parse_limit(request: web.Request) -> int:
    text = request.query.get("limit", "")
    if not text:
        return 0
    try:
        limit = int(text)
    except ValueError as exc:
        raise errors.bad_request(f'invalid limit "{text}"') from exc
    return max(limit, 0)


@dataclass(frozen=True)
class Continue:
    revision: int
    start: bytes


def encode_continue(revision: int, start_key: bytes, prefix: bytes) -> str:
    start = start_key[len(prefix):].decode("utf-8", "replace")
    token = {"v": "meta.k8s.io/v1", "rv": revision, "start": start}
    return base64.urlsafe_b64encode(json.dumps(token, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_continue(text: str, prefix: bytes) -> Continue:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        token = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise _invalid_continue("continue key is not valid") from exc
    if not isinstance(token, dict) or token.get("v") != "meta.k8s.io/v1":
        raise _invalid_continue("continue key is not valid: server does not recognize this encoded version")
    revision, start = token.get("rv"), token.get("start")
    if not isinstance(revision, int) or isinstance(revision, bool) or revision <= 0:
        raise _invalid_continue("continue key is not valid: incorrect encoded start resourceVersion "
                                "(version meta.k8s.io/v1)")
    if not isinstance(start, str) or not start:
        raise _invalid_continue("continue key is not valid: encoded start key empty")
    if start.startswith("/") or ".." in start.split("/"):
        raise _invalid_continue("continue key is not valid")
    return Continue(revision, prefix + start.encode())


def _invalid_continue(reason: str) -> errors.ApiError:
    return errors.bad_request(f"invalid continue token: {reason}")
