"""Go's integer division and math.Round, which upstream's formulas use."""

from __future__ import annotations

import math


def go_div(a: int, b: int) -> int:
    """Integer division truncating toward zero."""
    quotient = abs(a) // abs(b)
    return quotient if (a >= 0) == (b > 0) else -quotient


def go_round(x: float) -> int:
    """Half away from zero (Python's round() rounds half to even)."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))
