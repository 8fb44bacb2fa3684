"""Every invariant of DESIGN.md, checked in one place: used by tests, crash tests and `foretell audit`.

`audit(engine)` returns totals and a list of violations (empty when all is well). It walks the
whole state, so it is for tests, recovery and operators, never the hot path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from foretell.domain.orders import BID, BUY
from foretell.domain.units import MICRO
from foretell.engine import book, pool, risk
from foretell.engine.engine import Engine
from foretell.engine.ledger import buy_reservation, remaining_cap


@dataclass
class Report:
    accounts: int = 0
    cash_free_micro: int = 0
    cash_reserved_micro: int = 0
    collateral_micro: int = 0
    bonds_micro: int = 0
    conversion_debt_micro: int = 0  # collateral advanced against the converters' NO sets
    pool_cash_micro: int = 0  # part of cash_free_micro: what the liquidity pools hold
    fees_micro: int = 0
    deposits_micro: int = 0
    resting_orders: int = 0
    live_triggers: int = 0
    markets: int = 0
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


def audit(engine: Engine) -> Report:
    r = Report(accounts=len(engine.accounts), fees_micro=engine.fees_micro,
               deposits_micro=engine.deposits_micro, resting_orders=len(engine.orders),
               live_triggers=len(engine.triggers), markets=len(engine.markets))
    bad = r.violations
    if engine.now != engine.now_ms:  # the boxed clock the events carry (Engine.set_clock)
        bad.append(f"clock: events carry {engine.now}, the engine is at {engine.now_ms}")
    _check_books(engine, bad)
    _check_accounts(engine, r, bad)
    _check_contracts(engine, r, bad)
    r.bonds_micro = sum(m.bonds_micro for m in engine.markets.values())
    bond_sums = {m.id: m.proposal_bond_micro + sum(d[1] for d in m.disputes)
                 for m in engine.markets.values()}
    for m in engine.markets.values():
        if m.bonds_micro != bond_sums[m.id] or m.bonds_micro < 0:
            bad.append(f"market {m.id}: bond pool {m.bonds_micro} != bonds posted "
                       f"{bond_sums[m.id]}")
    _check_pools(engine, r, bad)
    bad.extend(risk.problems(engine))
    total = (r.cash_free_micro + r.cash_reserved_micro + r.collateral_micro + r.bonds_micro
             + r.fees_micro - r.conversion_debt_micro)
    if total != r.deposits_micro:
        bad.append(f"conservation: cash {r.cash_free_micro}+{r.cash_reserved_micro} + collateral "
                   f"{r.collateral_micro} + bonds {r.bonds_micro} + fees {r.fees_micro} - "
                   f"conversion debt {r.conversion_debt_micro} = {total} != deposits "
                   f"{r.deposits_micro}")
    return r


def _check_pools(engine: Engine, r: Report, bad: list[str]) -> None:
    """Pools: their loss can never exceed the subsidy (wealth >= 0 in every world), the LMSR
    invariant holds, they never hold both sides of a contract. Converters: exactly `conv_sets`
    NO of every outcome and nothing else; the debt is (n - 1) USDC per set."""
    for m in engine.markets.values():
        p = m.pool
        if p is not None and not p.closed:
            if engine.accounts.get(p.account.id) is not p.account or p.account.id != \
                    pool.pool_account_id(m.id):
                bad.append(f"market {m.id}: pool account not registered")
            r.pool_cash_micro += p.account.free
            view = pool.View(p, m.contracts[0])
            if min(view.wealth) < 0:
                bad.append(f"market {m.id}: pool loss beyond its subsidy, wealth {view.wealth}")
            if not pool.safe(p, view.wealth):
                bad.append(f"market {m.id}: pool invariant broken, wealth {view.wealth}")
            if p.account.reserved or p.account.orders:
                bad.append(f"market {m.id}: pool has orders or reservations")
            for pos in p.account.positions.values():
                if pos[0] and pos[1] or pos[2] or pos[3]:
                    bad.append(f"market {m.id}: pool position {pos}")
        conv = m.converter
        r.conversion_debt_micro += (len(m.contracts) - 1) * m.conv_sets * MICRO
        if conv is None:
            if m.conv_sets:
                bad.append(f"market {m.id}: {m.conv_sets} sets without a converter")
            continue
        if engine.accounts.get(conv.id) is not conv or conv.free or conv.reserved:
            bad.append(f"market {m.id}: converter account {conv.id} free={conv.free}")
        want = [0, m.conv_sets, 0, 0]
        for k in m.contracts:
            have = conv.positions.get(k.id, [0, 0, 0, 0])
            if list(have) != want:
                bad.append(f"market {m.id}: converter holds {have} of {k.id}, not {want}")


def _check_accounts(engine: Engine, r: Report, bad: list[str]) -> None:
    for a in engine.accounts.values():
        r.cash_free_micro += a.free
        r.cash_reserved_micro += a.reserved
        if a.free < 0 or a.reserved < 0:
            bad.append(f"account {a.id}: negative cash free={a.free} reserved={a.reserved}")
        held = sum(o.reserved for o in a.orders.values() if o.action == BUY)
        if held != a.reserved:
            bad.append(f"account {a.id}: reserved {a.reserved} != sum of buy reservations {held}")
        offered: dict[tuple[int, int], int] = {}
        for o in a.orders.values():
            if engine.orders.get(o.id) is not o:
                bad.append(f"order {o.id}: in account {a.id} but not live in the engine")
            if o.action == BUY:
                need = buy_reservation(remaining_cap(o), o.fee_basis, o.fee_charged,
                                       o.contract.market.fee_max_ppm)
                if o.reserved != need:
                    bad.append(f"order {o.id}: reserves {o.reserved}, worst case needs {need}")
            else:
                key = (o.contract.id, o.outcome)
                offered[key] = offered.get(key, 0) + o.remaining
        for contract_id, pos in a.positions.items():
            if min(pos) < 0 or pos[2] > pos[0] or pos[3] > pos[1]:
                bad.append(f"account {a.id} contract {contract_id}: bad position {pos}")
            if pos[0] - pos[2] > 0 and pos[1] - pos[3] > 0:
                bad.append(f"account {a.id} contract {contract_id}: unnetted pairs {pos}")
            if not any(pos):
                bad.append(f"account {a.id} contract {contract_id}: empty position kept")
            for outcome in (0, 1):
                if offered.get((contract_id, outcome), 0) != pos[2 + outcome]:
                    bad.append(f"account {a.id} contract {contract_id}: reserved shares "
                               f"{pos[2 + outcome]} != offered {offered.get((contract_id, outcome), 0)}")
        for (contract_id, outcome), size in offered.items():
            if contract_id not in a.positions and size:
                bad.append(f"account {a.id}: sells {size} of {contract_id}/{outcome} without shares")
    if len(engine.orders) != sum(len(a.orders) for a in engine.accounts.values()):
        bad.append("orders: engine index and account indexes disagree")


def _check_contracts(engine: Engine, r: Report, bad: list[str]) -> None:
    for c in engine.contracts.values():
        r.collateral_micro += c.collateral * MICRO
        yes = sum(p[0] for p in c.positions.values())
        no = sum(p[1] for p in c.positions.values())
        if not (c.collateral == c.yes_out == c.no_out == yes == no) or c.collateral < 0:
            bad.append(f"contract {c.id}: collateral {c.collateral}, yes out {c.yes_out}/{yes}, "
                       f"no out {c.no_out}/{no}")
        for account_id, pos in c.positions.items():
            a = engine.accounts.get(account_id)
            if a is None or a.positions.get(c.id) is not pos:
                bad.append(f"contract {c.id}: position of {account_id} not shared with account")


def _check_books(engine: Engine, bad: list[str]) -> None:
    seen = 0
    for c in engine.contracts.values():
        for side in (BID, 1):
            heads = c.bid_head if side == BID else c.ask_head
            tails = c.bid_tail if side == BID else c.ask_tail
            qtys = c.bid_qty if side == BID else c.ask_qty
            for i in range(c.levels):
                orders = book.level_orders(c, side, i)
                seen += len(orders)
                if sum(o.remaining for o in orders) != qtys[i]:
                    bad.append(f"contract {c.id} side {side} level {i}: qty {qtys[i]} wrong")
                if (tails[i] is None) != (heads[i] is None) or (orders and tails[i] is not orders[-1]):
                    bad.append(f"contract {c.id} side {side} level {i}: broken links")
                for o in orders:
                    if o.price_i != i or o.side != side or o.remaining <= 0 or o.contract is not c:
                        bad.append(f"order {o.id}: misplaced in contract {c.id} level {i}")
                    if engine.orders.get(o.id) is not o:
                        bad.append(f"order {o.id}: in the book but not live")
        bids = [i for i in range(c.levels) if c.bid_head[i] is not None]
        asks = [i for i in range(c.levels) if c.ask_head[i] is not None]
        if c.best_bid != (max(bids) if bids else 0) or c.best_ask != (min(asks) if asks else c.levels):
            bad.append(f"contract {c.id}: best prices {c.best_bid}/{c.best_ask} are stale")
        if c.best_bid >= c.best_ask:
            bad.append(f"contract {c.id}: crossed book {c.best_bid} >= {c.best_ask}")
    if seen != len(engine.orders):
        bad.append(f"books hold {seen} orders, engine has {len(engine.orders)} live")
