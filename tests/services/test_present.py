"""How engine values and store rows read in the public API: prices, amounts, names."""

from __future__ import annotations

from foretell.services import present


def test_prices_and_amounts_are_exact_decimal_text() -> None:
    assert [present.price(x) for x in (570_000, 500_000, 505_000, 1, None)] == [
        "0.57", "0.50", "0.505", "0.000001", None]
    assert [present.amount(x) for x in (12_500_000, 0, -1_250_000, None)] == [
        "12.500000", "0.000000", "-1.250000", None]
    assert [present.signed_price(x) for x in (-20_000, 20_000, None)] == ["-0.02", "0.02", None]
    assert (present.own_price(300_000, 0), present.own_price(300_000, 1)) == (300_000, 700_000)


def test_store_rows_drop_the_micro_suffix_and_name_small_ints() -> None:
    row = present.row({"id": 3, "fee_micro": 2_400, "avg_price_micro": 564_285,
                       "pnl_micro": None, "name": "x"})
    assert row == {"id": 3, "fee": "0.002400", "avg_price": "0.564285", "pnl": None,
                   "name": "x"}
    fill = present.row({"kind": 1, "yes_price_micro": 400_000})
    assert fill == {"kind": "mint", "yes_price": "0.40"}
    stored = present.order_row({"id": 7, "outcome": 1, "action": 0, "order_type": 0, "tif": 2,
                                "flags": 3, "client_id": "", "created_ms": 5,
                                "price_micro": 300_000, "size": 4})
    assert stored == {"id": 7, "outcome": "no", "side": "buy", "type": "limit", "tif": "ioc",
                      "post_only": True, "reduce_only": True, "client_order_id": None,
                      "created_at_ms": 5, "price": "0.30", "size": 4}
