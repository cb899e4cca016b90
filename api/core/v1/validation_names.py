"""Name and port checks with the apiserver's wording."""

from __future__ import annotations

import re

from api.meta.errors import FieldError, invalid, required

DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN = rf"{DNS1123_LABEL}(\.{DNS1123_LABEL})*"
IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_LABEL = re.compile(f"^{DNS1123_LABEL}$")
_SUBDOMAIN = re.compile(f"^{DNS1123_SUBDOMAIN}$")
_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    f"start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
    f"validation is '{DNS1123_LABEL}')"
)
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
    f"validation is '{DNS1123_SUBDOMAIN}')"
)


def dns_label(path: str, value: str | None) -> list[FieldError]:
    if not value:
        return [required(path)]
    errors = []
    if len(value) > 63:
        errors.append(invalid(path, value, "must be no more than 63 characters"))
    if not _LABEL.match(value):
        errors.append(invalid(path, value, _LABEL_MSG))
    return errors


def dns_subdomain(path: str, value: str | None) -> list[FieldError]:
    if not value:
        return [required(path)]
    errors = []
    if len(value) > 253:
        errors.append(invalid(path, value, "must be no more than 253 characters"))
    if not _SUBDOMAIN.match(value):
        errors.append(invalid(path, value, _SUBDOMAIN_MSG))
    return errors


def port_number(path: str, port: int, *, allow_zero: bool = False) -> list[FieldError]:
    low = 0 if allow_zero else 1
    if low <= port <= 65535:
        return []
    return [invalid(path, port, f"must be between {low} and 65535, inclusive")]


def port_number_or_name(path: str, port: int | str) -> list[FieldError]:
    if isinstance(port, int):
        return port_number(path, port)
    if not port:
        return [required(path)]
    if len(port) > 15 or not IANA_SVC_NAME.match(port) or not re.search("[a-z]", port):
        return [invalid(path, port, "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")]
    return []
