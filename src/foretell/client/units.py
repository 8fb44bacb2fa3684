"""Prices and amounts between the SDK and the wire, exact: decimal strings or integer micro-USDC.

The API takes decimal strings ("0.57", "12.5"). The SDK also accepts ints, read as micro-USDC
(570_000 is 0.57). Floats are refused: a binary float cannot hold 0.57 exactly, and money that
is silently rounded is worse than an error. Strings are passed through untouched, so the server
remains the one judge of what is valid (tick, range, format).
"""

from __future__ import annotations

import re

MICRO = 1_000_000
Price = str | int
"""A price per share or an amount of USDC: decimal text, or an int of micro-USDC."""

_DECIMAL = re.compile(r"^(-?)(\d{1,15})(?:\.(\d{1,6}))?$")


def to_wire(value: Price, what: str = "price") -> str:
    """The decimal text sent for a price or amount given as text or as int micro-USDC."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(f"{what} must be a decimal string or an int of micro-USDC, "
                        f"not {type(value).__name__} (floats are refused)")
    if isinstance(value, str):
        return value
    return format_price(value)


def format_micro(amount_micro: int) -> str:
    """Exact decimal text of micro-USDC: 570_000 -> "0.570000"."""
    sign = "-" if amount_micro < 0 else ""
    whole, frac = divmod(abs(amount_micro), MICRO)
    return f"{sign}{whole}.{frac:06d}"


def to_micro(text: str) -> int:
    """Parse a decimal string from the API ("0.57", "-12.500000") to micro-USDC, exactly."""
    match = _DECIMAL.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not a decimal amount with at most 6 places: {text!r}")
    sign, whole, frac = match.group(1), match.group(2), match.group(3) or ""
    micro = int(whole) * MICRO + int(frac.ljust(6, "0"))
    return -micro if sign else micro


def format_price(price_micro: int) -> str:
    """A price as the server writes it: at least two decimals, no trailing zeros beyond."""
    whole, frac = format_micro(price_micro).split(".")
    return f"{whole}.{frac.rstrip('0').ljust(2, '0')}"
