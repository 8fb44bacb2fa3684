"""Money, price and size units, and their only conversions to and from text.

Every amount inside Foretell is an int of micro-USDC (`*_micro`). Prices are micro-USDC per share,
so a price is also an amount: 0.57 USDC is 570_000. Decimal text appears only at the API edge and
is parsed here, exactly, never through float.
"""

from __future__ import annotations

import re
from typing import Final

MICRO: Final = 1_000_000
"""micro-USDC in one USDC, and the payout of one winning share."""

# ASCII digits only: `\d` and int() would also take "٠.٥" (Arabic-Indic) or "²" as numbers.
_DECIMAL = re.compile(r"([0-9]{1,15})(?:\.([0-9]{1,6}))?")


class UnitError(ValueError):
    """Text that is not a valid non-negative decimal amount with at most 6 places."""


def parse_micro(text: str) -> int:
    """Parse "12.5" or "0.570000" to micro-USDC without floating point: ASCII digits, an
    optional point and up to 6 places, nothing else (no sign, space, exponent or separator)."""
    match = _DECIMAL.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise UnitError(f"not a decimal amount with at most 6 places: {text!r}")
    whole, frac = match.group(1), match.group(2) or ""
    return int(whole) * MICRO + int(frac.ljust(6, "0"))


def format_micro(amount_micro: int, places: int = 6) -> str:
    """Format micro-USDC as decimal text ("-1.250000"), exact."""
    sign = "-" if amount_micro < 0 else ""
    whole, frac = divmod(abs(amount_micro), MICRO)
    text = f"{sign}{whole}.{frac:06d}"
    return text if places == 6 else text[: len(text) - (6 - places)]


def format_price(price_micro: int) -> str:
    """A price per share as traders read it: at least two decimals, no trailing zeros beyond."""
    whole, frac = format_micro(price_micro).split(".")
    return f"{whole}.{frac.rstrip('0').ljust(2, '0')}"


def ceil_div(numerator: int, denominator: int) -> int:
    """Integer division rounding up (towards +infinity) for non-negative operands."""
    return -(-numerator // denominator)


def fee_micro(notional_micro: int, rate_ppm: int) -> int:
    """Fee on a notional at a rate in parts per million, rounded up to the micro-USDC."""
    return ceil_div(notional_micro * rate_ppm, MICRO)
