"""resource.Quantity parsing ("100m", "64Mi", "1e3", "0.5") into exact fractions."""

from __future__ import annotations

import re
from fractions import Fraction

QUANTITY_PATTERN = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
_NUMBER = re.compile(r"^([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))(.*)$")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
_EXPONENT = re.compile(r"^[eE]([-+]?[0-9]+)$")


class QuantityError(ValueError):
    def __init__(self, text: str) -> None:
        super().__init__(f"quantities must match the regular expression '{QUANTITY_PATTERN}'")
        self.text = text


def parse_quantity(text: str) -> Fraction:
    match = _NUMBER.match(text.strip())
    if match is None:
        raise QuantityError(text)
    number, suffix = Fraction(match.group(1)), match.group(2)
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    exponent = _EXPONENT.match(suffix)
    if exponent is not None:
        return number * Fraction(10) ** int(exponent.group(1))
    raise QuantityError(text)


def millicores(text: str) -> int:
    """A CPU quantity in millicores, rounded up as the kubelet does."""
    value = parse_quantity(text) * 1000
    return int(-(-value.numerator // value.denominator))


def whole_units(text: str) -> int:
    """A byte (or count) quantity as an integer, rounded up."""
    value = parse_quantity(text)
    return int(-(-value.numerator // value.denominator))
