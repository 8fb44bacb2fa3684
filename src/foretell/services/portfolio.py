"""Portfolio: an account's cash, free and reserved, with what each reservation is for (live, from
the engine; positions, fills and history are read from the store by the API)."""

from __future__ import annotations

from typing import Any

from foretell.exchange.node import Node
from foretell.services import present


class Portfolio:
    def __init__(self, node: Node) -> None:
        self.node = node

    def balance(self, account_id: int) -> dict[str, Any]:
        a = self.node.engine.accounts.get(account_id)
        if a is None:
            return {"account_id": account_id, "free": present.amount(0),
                    "reserved": present.amount(0), "total": present.amount(0),
                    "reserved_for": []}
        reserved_for = [{"order_id": o.id, "contract_id": o.contract.id,
                         "market_id": o.contract.market.id, "amount": present.amount(o.reserved),
                         "why": f"buy {o.remaining} {('YES', 'NO')[o.outcome]} at "
                                f"{present.price(o.out_price)} plus worst-case fee"}
                        for o in a.orders.values() if o.action == 0 and o.reserved]
        return {"account_id": account_id, "free": present.amount(a.free),
                "reserved": present.amount(a.reserved),
                "total": present.amount(a.free + a.reserved), "reserved_for": reserved_for}
