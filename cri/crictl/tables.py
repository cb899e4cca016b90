"""Human-facing table output as crictl prints it: Go's tabwriter, go-units durations and sizes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TextIO

TRUNCATED_ID_LENGTH = 13
MIN_WIDTH, PADDING = 20, 3
DECIMAL_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
POD_NAME_LABEL = "io.kubernetes.pod.name"
POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace"


class Table:
    """``tabwriter.NewWriter(out, 20, 1, 3, ' ', 0)``: every cell but a line's last is padded."""

    def __init__(self) -> None:
        self._rows: list[Sequence[str]] = []

    def add_row(self, cells: Sequence[str]) -> None:
        self._rows.append(cells)

    def render(self) -> str:
        columns = max((len(row) for row in self._rows), default=0)
        widths = [
            max([MIN_WIDTH, *(len(row[i]) + PADDING for row in self._rows if i < len(row) - 1)])
            for i in range(columns)
        ]
        lines = []
        for row in self._rows:
            padded = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
            lines.append("".join(padded) + (row[-1] if row else "") + "\n")
        return "".join(lines)

    def flush(self, out: TextIO) -> None:
        out.write(self.render())
        self._rows.clear()


def truncate_id(value: str, prefix: str = "") -> str:
    """crictl's getTruncatedID: drop ``prefix``, keep 13 characters."""
    value = value.removeprefix(prefix)
    return value[:TRUNCATED_ID_LENGTH]


def truncate_image(image: str) -> str:
    """An image field holding a digest (``sha256:<hex>``) shows 13 hex digits; names stay whole."""
    algorithm, sep, hex_part = image.partition(":")
    if sep and algorithm == "sha256" and len(hex_part) == 64 and _is_lower_hex(hex_part):
        return truncate_id(image, "sha256:")
    return image


def _is_lower_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def human_duration(seconds_elapsed: float) -> str:
    """go-units HumanDuration."""
    seconds = int(seconds_elapsed)
    if seconds < 1:
        return "Less than a second"
    if seconds == 1:
        return "1 second"
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = int(seconds_elapsed / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = _go_round(seconds_elapsed / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds_elapsed / 3600) // 24 // 365} years"


def _go_round(value: float) -> int:
    """math.Round: halves away from zero (Python's round() goes to even)."""
    return int(value + 0.5) if value >= 0 else -int(-value + 0.5)


def ago(created_ns: int, now_ns: int) -> str:
    return human_duration((now_ns - created_ns) / 1e9) + " ago"


def human_size(size: float, precision: int = 4) -> str:
    """go-units HumanSizeWithPrecision: decimal units, ``%.{precision}g``."""
    unit = 0
    while size >= 1000.0 and unit < len(DECIMAL_UNITS) - 1:
        size /= 1000.0
        unit += 1
    return f"{size:.{precision}g}{DECIMAL_UNITS[unit]}"


def pod_name_of(labels: Mapping[str, str]) -> str:
    return labels.get(POD_NAME_LABEL, "unknown")


def pod_namespace_of(labels: Mapping[str, str]) -> str:
    return labels.get(POD_NAMESPACE_LABEL, "unknown")


def sorted_pairs(mapping: Mapping[str, str]) -> list[tuple[str, str]]:
    return sorted(mapping.items())
