"""Request bodies. Money and prices are decimal strings ("0.57", "12.5"); sizes are whole shares.

Every model is strict: a boolean is JSON true or false (not "yes", 1 or "true"), a number is a
JSON integer (not "5" or 5.0), and a decimal string holds ASCII digits only (not "٠.٥"). Free
text a user gives (names, questions, descriptions, rules, reasons, labels) is cleaned of control
characters, terminal escapes and bidirectional overrides before its length is checked, by the
same function that cleans news (`strip_invisible`). `OrderFastPath` validates orders with
`OrderIn` too, so both paths parse alike.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from foretell.news.text import strip_invisible

DECIMAL_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,6})?$"  # not \d: the regex engine's \d is Unicode
Decimal = Field(pattern=DECIMAL_PATTERN, max_length=20)
ClientId = Field(default=None, pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")


def _line(value: object) -> object:
    return strip_invisible(value) if isinstance(value, str) else value


def _lines(value: object) -> object:
    return strip_invisible(value, keep_lines=True) if isinstance(value, str) else value


Line = Annotated[str, BeforeValidator(_line)]
"""One line of user text: control characters, escapes and bidi overrides removed."""
Lines = Annotated[str, BeforeValidator(_lines)]
"""User text that may hold line breaks and tabs; other control characters removed."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class OrderIn(Strict):
    market_id: int | None = Field(default=None, ge=1, le=2**31, strict=True)
    contract_id: int | None = Field(default=None, ge=1, le=2**31, strict=True)
    outcome_index: int = Field(default=0, ge=0, le=63, strict=True)
    outcome: Literal["yes", "no"]
    side: Literal["buy", "sell"]
    type: Literal["limit", "market"] = "limit"
    price: str | None = Field(default=None, pattern=DECIMAL_PATTERN, max_length=20)
    size: int | None = Field(default=None, ge=1, le=10**9, strict=True)
    spend: str | None = Field(default=None, pattern=DECIMAL_PATTERN, max_length=20)
    tif: Literal["gtc", "gtd", "ioc", "fok"] = "gtc"
    expire_at_ms: int | None = Field(default=None, ge=0, le=2**53)
    post_only: bool = False
    reduce_only: bool = False
    stp: Literal["cancel_maker", "cancel_taker", "cancel_both"] = "cancel_maker"
    client_order_id: str | None = ClientId
    order_group_id: int | None = Field(default=None, ge=1, le=2**31, strict=True)


class OrdersIn(Strict):
    orders: list[OrderIn] = Field(min_length=1, max_length=100)


class AmendIn(Strict):
    price: str | None = Field(default=None, pattern=DECIMAL_PATTERN, max_length=20)
    size: int | None = Field(default=None, ge=1, le=10**9, strict=True)


class CancelManyIn(Strict):
    order_ids: list[Annotated[int, Field(ge=1, le=2**53)]] = Field(min_length=1, max_length=100)


class TriggerIn(Strict):
    market_id: int | None = Field(default=None, ge=1, le=2**31, strict=True)
    contract_id: int | None = Field(default=None, ge=1, le=2**31, strict=True)
    outcome_index: int = Field(default=0, ge=0, le=63, strict=True)
    outcome: Literal["yes", "no"]
    size: int = Field(ge=1, le=10**9, strict=True)
    take_profit: str | None = Field(default=None, pattern=DECIMAL_PATTERN, max_length=20)
    stop_loss: str | None = Field(default=None, pattern=DECIMAL_PATTERN, max_length=20)
    trail: str | None = Field(default=None, pattern=DECIMAL_PATTERN, max_length=20)
    limit_price: str | None = Field(default=None, pattern=DECIMAL_PATTERN,
                                    max_length=20)
    client_order_id: str | None = ClientId


class SignupIn(Strict):
    username: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]{2,31}$")
    password: str = Field(min_length=8, max_length=128)
    display_name: Line | None = Field(default=None, max_length=64)


class LoginIn(Strict):
    username: str = Field(max_length=64)
    password: str = Field(max_length=128)


class ApiKeyIn(Strict):
    label: Line = Field(default="", max_length=64)
    scopes: list[Literal["read", "trade", "admin"]] = Field(default=["read"], min_length=1,
                                                            max_length=3)


class OrderGroupIn(Strict):
    contracts_limit: int = Field(ge=1, le=10**9)
    window_s: int = Field(default=60, ge=1, le=86_400)


class DeadManIn(Strict):
    timeout_s: int = Field(ge=0, le=3_600, description="0 disarms the switch")


class CreditIn(Strict):
    account_id: int = Field(ge=1, le=2**31, strict=True)
    amount: str = Field(pattern=r"^-?[0-9]{1,12}(\.[0-9]{1,6})?$", max_length=21)
    reason: Line = Field(min_length=3, max_length=200)


class MarketIn(Strict):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]{2,79}$")
    question: Line = Field(min_length=10, max_length=300)
    description: Lines = Field(default="", max_length=4_000)
    category: Line = Field(default="General", max_length=64)
    tags: list[Line] = Field(default=[], max_length=20)
    outcomes: list[Line] = Field(default=["Yes", "No"], min_length=2, max_length=64)
    rules: dict[Line, Lines] = Field(default={})
    close_ms: int = Field(default=0, ge=0, le=2**53)
    resolution_deadline_ms: int = Field(default=0, ge=0, le=2**53)
    tick: Literal["0.01", "0.001"] = "0.01"
    maker_fee_ppm: int = Field(default=1_000, ge=0, le=100_000)
    taker_fee_ppm: int = Field(default=1_000, ge=0, le=100_000)
    creator_id: int | None = Field(default=None, ge=1, le=2**31, strict=True)
    creator_share_ppm: int = Field(default=0, ge=0, le=1_000_000)
    size_max: int = Field(default=1_000_000, ge=1, le=10**8)
    subsidy: str = Field(default="0", max_length=32, description="USDC for the market's "
                         "liquidity pool, from the creating supervisor's balance")
    void_yes: str | None = Field(default=None, max_length=16, description="paid per YES share "
                                 "if voided (default 0.5; 1/n lets a categorical market convert)")


class MarketStatusIn(Strict):
    status: Literal["open", "halted", "closed"]
    reason: Line = Field(min_length=3, max_length=200)


class SettleIn(Strict):
    winner_index: int = Field(ge=0, le=63)


class VoidIn(Strict):
    reason: Line = Field(min_length=3, max_length=200)


class SuspendIn(Strict):
    """Suspend or reinstate an account: the reason is kept on record with who did it."""

    reason: Line = Field(min_length=3, max_length=200)
