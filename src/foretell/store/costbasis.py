"""Average-cost basis and realized P&L of one position (one account in one binary contract).

The method, in integer micro-USDC (no floats, and no micro-USDC created or lost by rounding):
  - a buy of q shares at own price p with fee f adds p*q + f to the cost of that side;
  - a sell of q of the n shares held removes cost*q // n of that side's cost (all of it when
    q == n) and realizes proceeds p*q - f minus the removed cost;
  - netting k YES+NO pairs into k USDC removes the average cost of k YES and k NO the same way
    and realizes k * 1 USDC minus both removed costs;
  - a settlement (or void) payout realizes the amount paid minus all remaining cost, and the
    position is then empty.
YES and NO of one contract are different instruments, so each side has its own cost. Shares
here are held shares, reserved ones included (an order offering them still owns them).

So for every position, at all times: realized P&L + remaining cost == cash received - cash paid
(fees included), and once the market settles the realized P&L is that whole difference.
"""

from __future__ import annotations

from dataclasses import dataclass

from foretell.domain.orders import YES
from foretell.domain.units import MICRO


@dataclass(slots=True)
class Holding:
    yes_shares: int = 0
    no_shares: int = 0
    yes_cost_micro: int = 0
    no_cost_micro: int = 0
    realized_pnl_micro: int = 0

    def shares(self, outcome: int) -> int:
        return self.yes_shares if outcome == YES else self.no_shares

    def cost(self, outcome: int) -> int:
        return self.yes_cost_micro if outcome == YES else self.no_cost_micro

    def _set(self, outcome: int, shares: int, cost_micro: int) -> None:
        if outcome == YES:
            self.yes_shares, self.yes_cost_micro = shares, cost_micro
        else:
            self.no_shares, self.no_cost_micro = shares, cost_micro

    @property
    def empty(self) -> bool:
        return not (self.yes_shares or self.no_shares or self.yes_cost_micro
                    or self.no_cost_micro or self.realized_pnl_micro)


def buy(h: Holding, outcome: int, size: int, price_micro: int, fee_micro: int) -> None:
    h._set(outcome, h.shares(outcome) + size, h.cost(outcome) + price_micro * size + fee_micro)


def _remove(h: Holding, outcome: int, size: int) -> int:
    """Take `size` shares of one side out at their average cost; returns the cost removed.

    Selling more than is tracked (which the stream never does) takes out everything tracked.
    """
    held, cost = h.shares(outcome), h.cost(outcome)
    removed = cost if size >= held else cost * size // held
    h._set(outcome, max(0, held - size), cost - removed)
    return removed


def sell(h: Holding, outcome: int, size: int, price_micro: int, fee_micro: int) -> None:
    removed = _remove(h, outcome, size)
    h.realized_pnl_micro += price_micro * size - fee_micro - removed


def net(h: Holding, pairs: int) -> None:
    removed = _remove(h, YES, pairs) + _remove(h, 1 - YES, pairs)
    h.realized_pnl_micro += pairs * MICRO - removed


def payout(h: Holding, amount_micro: int) -> None:
    h.realized_pnl_micro += amount_micro - h.yes_cost_micro - h.no_cost_micro
    h.yes_shares = h.no_shares = h.yes_cost_micro = h.no_cost_micro = 0


def reconcile(h: Holding, yes_shares: int, no_shares: int) -> bool:
    """Align the tracked shares with the engine's; returns False if they did not agree.

    The engine merges YES+NO pairs silently when an order's release frees shares (no NETTED
    event), which shows here as both sides being k shares too high: that is netting k pairs.
    Anything else means a missed event; the shares are then taken as given and each side's cost
    scaled to the shares kept, and the caller reports it.
    """
    extra_yes, extra_no = h.yes_shares - yes_shares, h.no_shares - no_shares
    if extra_yes == extra_no and extra_yes >= 0:
        if extra_yes:
            net(h, extra_yes)
        return True
    for outcome, held in ((YES, yes_shares), (1 - YES, no_shares)):
        tracked, cost = h.shares(outcome), h.cost(outcome)
        h._set(outcome, held, cost * held // tracked if tracked and held < tracked else cost)
    return False


def convert(source: Holding, targets: list[Holding], from_outcome: int, to_outcome: int,
            size: int) -> None:
    """Conversion (issue 16): `size` shares leave `source`, `size` shares of `to_outcome`
    join each target; the cost moves with them, split evenly (remainder to the first)."""
    cost = _remove(source, from_outcome, size)
    share, rest = divmod(cost, len(targets)) if targets else (0, 0)
    for i, h in enumerate(targets):
        buy(h, to_outcome, size, 0, share + (rest if i == 0 else 0))


def convert_back(sources: list[Holding], target: Holding, from_outcome: int, to_outcome: int,
                 size: int) -> None:
    """The reverse: `size` of `from_outcome` leave every source, `size` join the target."""
    cost = sum(_remove(h, from_outcome, size) for h in sources)
    buy(target, to_outcome, size, 0, cost)
