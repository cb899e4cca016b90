"""Memo keys for results stored on NodeInfos.

A key is a tuple of a pod's signatures; hashing and comparing such a tuple on every node would cost
more than the lookup saves, so each distinct key is interned once per cycle to a token object that
hashes and compares by identity."""

from __future__ import annotations

from collections.abc import Hashable

MAX_KEYS = 10_000


class Interner:
    def __init__(self) -> None:
        self._tokens: dict[Hashable, object] = {}

    def token(self, key: Hashable) -> object:
        token = self._tokens.get(key)
        if token is None:
            if len(self._tokens) >= MAX_KEYS:
                self._tokens.clear()  # only memo hits are lost
            token = self._tokens[key] = object()
        return token
