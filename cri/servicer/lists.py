"""List and Stream* responses built from domain lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from google.protobuf.message import Message

from cri.convert import to_proto

M = TypeVar("M", bound=Message)
STREAM_PAGE = 100


def list_response(items: Sequence[Any], response_cls: type[M], field: str, item_cls: type[Message]) -> M:
    response = response_cls()
    getattr(response, field).extend(to_proto(item, item_cls) for item in items)
    return response


def paged_responses(
    items: Sequence[Any], response_cls: type[M], field: str, item_cls: type[Message]
) -> list[M]:
    return [
        list_response(items[start : start + STREAM_PAGE], response_cls, field, item_cls)
        for start in range(0, max(len(items), 1), STREAM_PAGE)
    ]
