"""The market's liquidity pool: an LMSR market maker in integer fixed point, quoting in the book.

Owns the curve, its integer exp/ln, and the pool's side of a fill. The pool is a real holder: its
cash and shares sit in an engine account of its own (id `pool_account_id(market)`, negative, so
never a user's), so conservation, the per-contract collateral invariant and settlement treat it
like anyone else. What is its own is the rule for when it trades.

The curve. An n-outcome market has n worlds (a binary market: YES wins, NO wins; a categorical
one: outcome w wins). Let W_w be the pool's wealth if world w happens (its cash plus what its
shares pay there) and S the subsidy it was funded with. With D_w = S - W_w (its loss in world w)
and liquidity b, the pool keeps

    sum_w g_w exp(D_w / b) <= G = sum_w g_w                         (the pool invariant)

with positive integer weights g (all 1 by default; a funder may set them to start the curve at
given prices). This is LMSR's cost function written on the pool's own wealth: C(q) = b ln sum
g_w exp(q_w / b) with q = -W, shifted so that the start (W = S everywhere) sits exactly on the
bound. Each term is positive, so g_w exp(D_w / b) <= G in every world: the loss is at most
b ln(G / min g) (b ln n with equal weights), and b is chosen as S / ln(G / min g) rounded down
(the logarithm rounded up), so the loss never exceeds the subsidy. Prices are LMSR's: outcome
w's marginal price is g_w exp(D_w / b) / sum_v g_v exp(D_v / b); they sum to 1 and start at
g_w / G.
LMSR was chosen over a constant-product pool because its bound is the textbook one (b ln n, for
any n), it prices all n outcomes of a categorical market jointly (so their YES prices sum to 1),
and it cannot be drained by arbitrage between outcomes.

Discrete levels. The pool quotes on the book's ticks: at the level of YES price p it sells (or
buys) every share whose marginal curve price is at most p (at least p), all at p, so each share
it trades is priced at least as well for the pool as its curve. For outcome i with
A = exp(D_i / b), B = sum of the others, the count at p is b ln(p B / ((1 - p) A)) shares to sell
and b ln((1 - p) A / (p B)) to buy, rounded down after subtracting a margin that covers the
arithmetic's error. Two further limits hold after that: the pool's cash (a buy is paid before
anything nets) and, the last word, the invariant itself, checked with exp rounded up; a trade
that would break it is cut down to the largest count that keeps it (the invariant is convex in
the count, so that count is found by bisection). Selling, the pool first sells YES it holds and
only then buys NO (and buying, sells NO it holds before buying YES), so it never holds both.

Fixed point. Numbers are integers scaled by 2**60 (`ONE`), computed with 16 guard bits and
truncated. `exp_fp` reduces x = k ln2 + r with 0 <= r < ln2 and sums the Taylor series of exp(r);
`ln_int` normalises to m in [1, 2) and sums the series of 2 atanh((m - 1) / (m + 1)). Both are
within 2**-50 relative of the true value for the arguments used here (|x| < 64, integers below
2**256); `exp_hi` adds 2**-40 relative plus 2 units (an upper bound), and the level counts
subtract 2**-30 in ln units (`_MARGIN`). Everything is integer arithmetic in a fixed order, so
every replica and every replay computes the same bits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from foretell.domain import codes, limits
from foretell.domain import events as ev
from foretell.domain import markets as mk
from foretell.domain.codes import Reject
from foretell.domain.commands import FundPool
from foretell.domain.orders import BUY, FILL_MERGE, FILL_MINT, FILL_TRANSFER, NO, SELL, YES
from foretell.domain.units import MICRO
from foretell.engine import convert
from foretell.engine.ledger import (
    collect_fees,
    drop_if_empty,
    fill_side,
    lock,
    merge_pairs,
    position,
)
from foretell.engine.seam import Trade
from foretell.engine.state import Account, Contract, Market, Order, Pool

# Event classes as Final names: compiled, each is a C static, read without the module
# attribute lookup that `ev.Fill(...)` costs per event on the hot path.
_Fill: Final = ev.Fill
_Netted: Final = ev.Netted


if TYPE_CHECKING:
    from foretell.engine.engine import Engine

F = 60
ONE = 1 << F
_G = F + 16  # guard bits inside exp and ln
_ONE_G = 1 << _G
_MARGIN = 1 << (F - 30)  # ln units taken off every level count: covers all rounding error
_EXP_ARG_MAX = 8 * ONE  # exp above e**8 (> 64 outcomes) is never needed: treated as too large
_EXP_ARG_MIN = -45 * ONE  # exp below e**-45 is under one unit of 2**-60: zero


def _atanh_g(z: int) -> int:
    """atanh(z), both to _G bits, for 0 <= z < 1/3 (z + z^3/3 + z^5/5 ..., integers only)."""
    z2 = z * z >> _G
    term = z
    total = 0
    k = 1
    while term:
        total += term // k
        term = term * z2 >> _G
        k += 2
    return total


_LN2_G = 2 * _atanh_g(_ONE_G // 3)  # ln 2 = 2 atanh(1/3)
_LN2 = _LN2_G >> (_G - F)


def exp_fp(x: int) -> int:
    """exp(x / ONE) * ONE, truncated (x a fixed-point number, x < 8 * ONE)."""
    if x == 0:
        return ONE
    if x < _EXP_ARG_MIN:
        return 0
    xg = x << (_G - F)
    k = xg // _LN2_G
    r = xg - k * _LN2_G  # 0 <= r < ln 2
    term = _ONE_G
    total = _ONE_G
    j = 1
    while term:
        term = term * r // (_ONE_G * j)
        total += term
        j += 1
    shift = _G - F - k
    return total >> shift if shift >= 0 else total << -shift


def exp_hi(x: int) -> int:
    """An upper bound of exp(x / ONE) * ONE (exact at 0)."""
    if x == 0:
        return ONE
    v = exp_fp(x)
    return v + (v >> 40) + 2


def ln_int(n: int) -> int:
    """ln(n) * ONE for an integer n >= 1, truncated."""
    e = n.bit_length() - 1
    m = n << (_G - e) if _G >= e else n >> (e - _G)  # n / 2**e in [1, 2), to _G bits
    z = ((m - _ONE_G) << _G) // (m + _ONE_G)  # ln m = 2 atanh((m - 1) / (m + 1))
    return (e * _LN2_G + 2 * _atanh_g(z)) >> (_G - F)


def liquidity_micro(subsidy_micro: int, weights: list[int]) -> int:
    """b for a subsidy: the largest b (micro-USDC per unit of exponent) with
    b ln(sum(weights) / min(weights)) <= subsidy (b ln n for equal weights)."""
    return subsidy_micro * ONE // bound_ln(weights)


def bound_ln(weights: list[int]) -> int:
    """ln(G / min g), rounded up: the loss bound is b times this."""
    return ln_int(sum(weights)) - ln_int(min(weights)) + _MARGIN


def pool_account_id(market_id: int) -> int:
    return -2 * market_id


def worlds(m: Market) -> int:
    return 2 if len(m.contracts) == 1 else len(m.contracts)


class View:
    """The pool's state as a walk sees it, changed as the walk takes the pool's shares.

    `wealth[w]` is W_w in micro-USDC; `cash` its free cash; `yes`, `no` its shares of the contract
    being walked; `world` is that contract's YES world."""

    __slots__ = ("pool", "wealth", "cash", "yes", "no", "world", "active")

    def __init__(self, pool: Pool, c: Contract) -> None:
        self.pool = pool
        a = pool.account
        m = c.market
        n = worlds(m)
        cash = a.free
        if len(m.contracts) == 1:
            pos = a.positions.get(c.id)
            y0 = pos[0] if pos is not None else 0
            n0 = pos[1] if pos is not None else 0
            wealth = [cash + y0 * MICRO, cash + n0 * MICRO]
        else:
            no_total = 0
            yes_by = [0] * n
            for k in m.contracts:
                pos = a.positions.get(k.id)
                if pos is not None:
                    yes_by[k.index] = pos[0]
                    no_total += pos[1]
            wealth = [0] * n
            for k in m.contracts:
                pos = a.positions.get(k.id)
                no_k = pos[1] if pos is not None else 0
                wealth[k.index] = cash + (yes_by[k.index] + no_total - no_k) * MICRO
        self.wealth = wealth
        self.cash = cash
        pos = a.positions.get(c.id)
        self.yes = pos[0] if pos is not None else 0
        self.no = pos[1] if pos is not None else 0
        self.world = c.index if len(m.contracts) > 1 else 0
        self.active = True


def _weights(v: View) -> tuple[int, int]:
    """(A, B): exp(D_i / b) for the walked outcome and the sum over the others, scaled so the
    largest term is ONE (prices depend only on differences of D)."""
    pool = v.pool
    s = pool.subsidy_micro
    b = pool.b_micro
    losses = [s - w for w in v.wealth]
    top = max(losses)
    weights = pool.weights
    a_w = 0
    b_w = 0
    for w in range(len(losses)):
        e = exp_fp((losses[w] - top) * ONE // b) * weights[w]
        if w == v.world:
            a_w = e
        else:
            b_w += e
    return a_w, b_w


def safe(pool: Pool, wealth: list[int]) -> bool:
    """The pool invariant, with exp rounded up: sum_w g_w exp((S - W_w) / b) <= sum_w g_w."""
    s = pool.subsidy_micro
    b = pool.b_micro
    weights = pool.weights
    if not pool.bound_fp:
        pool.bound_fp = bound_ln(weights)
    x_max = _EXP_ARG_MAX + pool.bound_fp
    total = 0
    for w in range(len(wealth)):
        x = -((wealth[w] - s) * ONE // b)  # ceil((S - W) * ONE / b)
        if x > x_max:
            return False
        total += exp_hi(x) * weights[w]
    return total <= pool.weight_sum * ONE


def _moved(v: View, sells: bool, price: int, k: int) -> list[int]:
    """The wealth vector after the pool sells (or buys) k YES of the walked outcome at price."""
    up = price * k if sells else -price * k
    out = [w + up for w in v.wealth]
    out[v.world] -= k * MICRO if sells else -k * MICRO
    return out


def depth(v: View, sells: bool, price: int, want: int) -> tuple[int, bool]:
    """Shares (at most `want`) the pool trades now at YES price `price`: sells YES when `sells`,
    else buys YES. Returns (count, whether the curve alone set it: the pool may trade more at
    the next level). Read-only."""
    a_w, b_w = _weights(v)
    rest = MICRO - price
    # The two directions mirror each other: selling YES at p is buying NO at 1 - p. `own` is the
    # side the pool gives up (its weight, its price, the shares of it the pool holds).
    if sells:
        own_w, other_w, own_price, other_price, held = b_w, a_w, price, rest, v.yes
    else:
        own_w, other_w, own_price, other_price, held = a_w, b_w, rest, price, v.no
    if own_w == 0:
        return 0, True
    k = want
    if other_w:
        lnd = ln_int(own_price * own_w) - ln_int(other_price * other_w) - _MARGIN
        if lnd <= 0:
            return 0, True
        k = min(want, v.pool.b_micro * lnd // (ONE * MICRO))
    curve = k < want
    # Cash: it gives up the shares it holds, then pays for each one of the other side it buys.
    cash_k = held + (v.cash + own_price * held) // other_price
    if cash_k < k:
        k, curve = cash_k, False
    if k > 0 and not safe(v.pool, _moved(v, sells, price, k)):
        lo, hi = 0, k  # lo keeps the invariant, hi breaks it
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if safe(v.pool, _moved(v, sells, price, mid)):
                lo = mid
            else:
                hi = mid
        k, curve = lo, False
    return k, curve


def take(v: View, sells: bool, price: int, k: int) -> None:
    """Apply to the view a trade of k shares that `depth` allowed."""
    v.wealth = _moved(v, sells, price, k)
    if sells:
        t = min(k, v.yes)
        v.yes -= t
        v.no += k - t
        v.cash += price * t - (MICRO - price) * (k - t)
    else:
        t = min(k, v.no)
        v.no -= t
        v.yes += k - t
        v.cash += (MICRO - price) * t - price * (k - t)


def best_level(v: View, sells: bool, tick: int, levels: int) -> int:
    """The first tick level where the pool trades at least one share (asks: lowest; bids:
    highest), or `levels` (asks) / 0 (bids) when it trades none."""
    a_w, b_w = _weights(v)
    if a_w + b_w == 0:
        return levels if sells else 0
    i = a_w * MICRO // ((a_w + b_w) * tick)  # the marginal price, in ticks, rounded down
    if sells:
        i = max(i, 1)
        while i < levels and depth(v, True, i * tick, 1)[0] == 0:
            i += 1
        return i
    i = min(i + 1, levels - 1)
    while i > 0 and depth(v, False, i * tick, 1)[0] == 0:
        i -= 1
    return i


def crosses(pool: Pool, c: Contract, taker_bid: bool, limit_i: int) -> bool:
    """Whether a taker with this limit would trade at least one share with the pool."""
    return depth(View(pool, c), taker_bid, limit_i * c.tick, 1)[0] > 0


def ladder(pool: Pool, c: Contract, sells: bool, levels_max: int,
           size_max: int = 10**9) -> list[tuple[int, int]]:
    """The pool's depth as (yes_price_micro, size) levels from its best price outward: what
    a taker walking only the pool would meet."""
    v = View(pool, c)
    tick = c.tick
    levels = c.levels
    out: list[tuple[int, int]] = []
    i = best_level(v, sells, tick, levels)
    while 0 < i < levels and len(out) < levels_max:
        k, curve = depth(v, sells, i * tick, size_max)
        if k:
            out.append((i * tick, k))
            take(v, sells, i * tick, k)
        if not curve:
            break
        i += 1 if sells else -1
    return out


def price_micro(pool: Pool, c: Contract) -> int:
    """The curve's marginal YES price of the contract's outcome, in micro-USDC (rounded down)."""
    a_w, b_w = _weights(View(pool, c))
    return a_w * MICRO // (a_w + b_w) if a_w + b_w else 0


def fill(e: Engine, trade: Trade) -> None:
    """The pool's side of a fill of k shares at level i (a taker bid meets the pool's ask):
    the settlement of a Trade with no maker order (engine/seam.py). The pool's quotes are its
    holdings, so this is ledger work only; the matcher has taken the taker's size already.

    Up to two fills: the pool first gives up shares it holds (YES when it sells, NO when it
    buys), then buys the other outcome for the rest, so it never holds both. The pool pays no
    fee; its share of the taker's fee is added to its cash."""
    taker = trade.taker
    assert taker is not None
    c = taker.contract
    i = trade.i
    k = trade.q
    m = c.market
    pool = m.pool
    assert pool is not None
    pa = pool.account
    pos = position(pa, c)
    taker_bid = taker.side == 0
    give = YES if taker_bid else NO  # what the pool sells if it holds it
    t = min(k, pos[give])
    if t:
        _one(e, taker, c, pa, pool, i, t, give, SELL)
    if k - t:
        _one(e, taker, c, pa, pool, i, k - t, 1 - give, BUY)
    drop_if_empty(pa, c, pos)
    if len(m.contracts) > 2 and convert.allowed(m):
        convert.merge_no_sets(e, m, pa)
        if m.conv_sets:
            convert.merge_yes_sets(e, m, pa)
    if pos[0] < 0 or pos[1] < 0 or pa.free < 0:
        raise AssertionError(f"pool of market {m.id} overdrawn: {pos} {pa.free}")


def _one(e: Engine, taker: Order, c: Contract, pa: Account, pool: Pool, i: int, q: int,
         outcome: int, action: int) -> None:
    m = c.market
    yes_price = i * c.tick
    own = yes_price if outcome == YES else MICRO - yes_price
    # The taker's size is taken here, part by part: its reservation is checked after each.
    taker.take(q, yes_price if taker.outcome == YES else MICRO - yes_price)
    taker_fee = fill_side(taker, yes_price, q, m.taker_ppm, m.fee_max_ppm)
    pos = pa.positions[c.id]
    if action == BUY:
        pos[outcome] += q
        pa.free -= own * q
    else:
        pos[outcome] -= q
        pa.free += own * q
    if taker.action == action:  # both buy: a pair is minted; both sell: one is merged
        kind = FILL_MINT if action == BUY else FILL_MERGE
    else:
        kind = FILL_TRANSFER
    lock(c, kind, q)
    cut = taker_fee * pool.fee_share_ppm // MICRO
    if cut:
        pa.free += cut
        pool.fees_micro += cut
    if taker_fee - cut:
        collect_fees(e, m, taker_fee - cut)
    e.events.append(_Fill(e.now_ms, c.id, yes_price, q, kind, taker.id, taker.account.id,
                          taker.outcome, taker.action, taker_fee, 0, pa.id, outcome, action, 0))
    if taker.action == BUY:
        ta = taker.account
        tpos = ta.positions[c.id]
        if tpos[1 - taker.outcome] - tpos[3 - taker.outcome] > 0:
            merge_pairs(e, ta, c)


def close(e: Engine, m: Market) -> None:
    """After settlement or void: what the pool holds (its shares already paid out) goes back
    to the account that funded it, fees earned included; the pool account is forgotten."""
    pool = m.pool
    if pool is None or pool.closed:
        return
    pa = pool.account
    amount = pa.free
    if pa.positions:
        raise AssertionError(f"pool of market {m.id} still holds shares at close")
    funder = e.accounts.get(pool.funder)
    pa.free = 0
    if funder is not None:
        funder.free += amount
    else:
        e.fees_micro += amount
        m.fees_micro += amount
    pool.closed = True
    pool.returned_micro = amount
    del e.accounts[pa.id]
    e.events.append(ev.PoolClosed(e.now_ms, m.id, pool.funder, amount, pool.subsidy_micro,
                                  pool.fees_micro))


def fund(e: Engine, c: FundPool) -> int:
    """FundPool: the subsidy leaves the funder's free cash for the pool's own account."""
    m = e.market(c.market)
    if m.pool is not None:
        raise Reject(codes.POOL_EXISTS)
    if m.status not in (mk.DRAFT, mk.IN_REVIEW, mk.CHANGES_REQUESTED, mk.OPEN, mk.HALTED):
        raise Reject(codes.INVALID_POOL, "the market is closed")
    if not (limits.pool_subsidy_micro_min <= c.subsidy_micro <= limits.amount_micro_max
            and 0 <= c.fee_share_ppm <= MICRO):
        raise Reject(codes.INVALID_POOL)
    funder = e.account(c.funder)
    if funder.free < c.subsidy_micro:
        raise Reject(codes.INSUFFICIENT_FUNDS)
    n = worlds(m)
    weights = list(c.weights) if c.weights else [1] * n
    if len(weights) != n or not all(1 <= g <= MICRO for g in weights):
        raise Reject(codes.INVALID_POOL, "one weight from 1 to 1000000 per outcome")
    account_id = pool_account_id(m.id)
    if account_id in e.accounts:
        raise Reject(codes.POOL_EXISTS)
    pa = e.accounts[account_id] = Account(account_id)
    funder.free -= c.subsidy_micro
    pa.free = c.subsidy_micro
    b = liquidity_micro(c.subsidy_micro, weights)
    m.pool = Pool(m, pa, funder.id, c.subsidy_micro, b, c.fee_share_ppm, weights)
    e.events.append(ev.PoolFunded(e.now_ms, m.id, funder.id, c.subsidy_micro, b,
                                  c.fee_share_ppm, account_id))
    return account_id
