"""Market lifecycle commands: review steps, clarifications, resolution, disputes, settlement.

Who may do what (creator, supervisor, holder) is decided by the service before a command is
issued; the engine enforces the state machine and moves the money. Bonds are cash locked in the
market's pool: conservation counts them until they are returned, paid as a reward or forfeited
to the fee account. Every step is an event with its actor, time and reason.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from foretell.domain import codes, limits
from foretell.domain import commands as cmd
from foretell.domain import events as ev
from foretell.domain import markets as mk
from foretell.domain.codes import Reject
from foretell.domain.units import MICRO
from foretell.engine.state import Market

if TYPE_CHECKING:
    from foretell.engine.engine import Engine


def market_action(e: Engine, c: cmd.MarketAction) -> int:
    m = e.market(c.market)
    if c.action not in mk.ACTIONS:
        raise Reject(codes.INVALID_TRANSITION, f"unknown action {c.action!r}")
    if len(c.text) > 64_000 or len(c.reason) > 1_000:
        raise Reject(codes.INVALID_MARKET, "text too long")
    target = mk.ACTIONS[c.action]
    if c.action == "update_draft" and m.status not in mk.EDITABLE:
        raise Reject(codes.INVALID_TRANSITION, "rules are frozen once a market is submitted")
    if c.action == "clarify" and (m.status not in mk.CLARIFIABLE or not c.text):
        raise Reject(codes.INVALID_TRANSITION, "clarifications are for opened markets")
    if c.action == "resume" and m.status != mk.HALTED:
        raise Reject(codes.INVALID_TRANSITION)
    if c.action == "approve" and m.status != mk.IN_REVIEW:
        raise Reject(codes.INVALID_TRANSITION)
    if c.action == "reassign_creator":
        if not c.text.isdigit() or m.status in (mk.SETTLED, mk.VOIDED):
            raise Reject(codes.INVALID_TRANSITION)
        m.creator = int(c.text)
    e.events.append(ev.MarketAction(e.now_ms, m.id, c.action, c.actor, c.reason, c.text))
    if target is not None:
        e.transition(m, target, c.reason or c.action, c.actor)
    return m.status


def check_winner(m: Market, winner: int) -> None:
    count = 2 if len(m.contracts) == 1 else len(m.contracts)
    if not 0 <= winner < count:
        raise Reject(codes.INVALID_OUTCOME)


def propose(e: Engine, c: cmd.ProposeResolution) -> int:
    m = e.market(c.market)
    check_winner(m, c.winner)
    if m.status not in (mk.OPEN, mk.HALTED, mk.CLOSED):
        raise Reject(codes.INVALID_TRANSITION)
    if not 0 <= c.bond_micro <= limits.amount_micro_max or len(c.evidence) > 4_000:
        raise Reject(codes.INVALID_AMOUNT)
    proposer = e.accounts.get(c.actor) if c.actor > 0 else None  # pools never propose
    if c.bond_micro and (proposer is None or proposer.free < c.bond_micro):
        raise Reject(codes.INSUFFICIENT_FUNDS)
    if m.status != mk.CLOSED:
        e.transition(m, mk.CLOSED, "closed for resolution", c.actor)
    if c.bond_micro and proposer is not None:
        _lock(e, m, proposer.id, c.bond_micro, "proposal")
    m.proposer, m.proposed_winner, m.proposal_bond_micro = c.actor, c.winner, c.bond_micro
    m.dispute_deadline_ms = e.now_ms + m.dispute_window_ms
    heapq.heappush(e.resolutions, (m.dispute_deadline_ms, m.id))
    e.events.append(ev.Resolution(e.now_ms, m.id, c.winner, c.actor, c.evidence,
                                  m.dispute_deadline_ms))
    e.transition(m, mk.PROPOSED, f"outcome {c.winner} proposed", c.actor)
    return m.dispute_deadline_ms


def dispute(e: Engine, c: cmd.Dispute) -> int:
    m = e.market(c.market)
    a = e.account(c.account)
    if m.status not in (mk.PROPOSED, mk.DISPUTED):
        raise Reject(codes.INVALID_TRANSITION, "nothing to dispute")
    if e.now_ms >= m.dispute_deadline_ms:
        raise Reject(codes.INVALID_TRANSITION, "the dispute window has closed")
    if not any(pos[0] or pos[1] for k in m.contracts
               if (pos := a.positions.get(k.id)) is not None):
        raise Reject(codes.NO_POSITION, "only holders of a position may dispute")
    if any(d[0] == a.id for d in m.disputes):
        raise Reject(codes.INVALID_TRANSITION, "this account already disputed")
    if c.bond_micro != m.dispute_bond_micro:
        raise Reject(codes.INVALID_AMOUNT, f"the bond is {m.dispute_bond_micro} micro-USDC")
    if not c.reason or len(c.reason) > 2_000:
        raise Reject(codes.INVALID_ORDER, "a dispute needs a reason")
    if a.free < c.bond_micro:
        raise Reject(codes.INSUFFICIENT_FUNDS)
    _lock(e, m, a.id, c.bond_micro, "dispute")
    m.disputes.append([a.id, c.bond_micro])
    if m.status == mk.PROPOSED:
        e.transition(m, mk.DISPUTED, c.reason, a.id)
    else:
        e.events.append(ev.MarketAction(e.now_ms, m.id, "dispute", a.id, c.reason, ""))
    return len(m.disputes)


def decide(e: Engine, c: cmd.DecideDispute) -> int:
    """Uphold: disputers get their bond back plus a share of the configured part of the
    proposer's bond, and the market settles on `winner`. Reject: disputers' bonds go to the fee
    account and the proposed outcome stands."""
    m = e.market(c.market)
    if m.status != mk.DISPUTED:
        raise Reject(codes.INVALID_TRANSITION)
    check_winner(m, c.winner)
    if not c.uphold and c.winner != m.proposed_winner:
        raise Reject(codes.INVALID_OUTCOME, "rejecting a dispute keeps the proposed outcome")
    e.events.append(ev.MarketAction(e.now_ms, m.id, "uphold" if c.uphold else "reject",
                                    c.actor, c.reason, ""))
    if c.uphold:
        reward = m.proposal_bond_micro * m.dispute_reward_ppm // MICRO
        share = reward // len(m.disputes)
        for account_id, bond in m.disputes:
            _pay(e, m, account_id, bond, "dispute_returned")
            if share:
                _pay(e, m, account_id, share, "dispute_reward")
        if reward - share * len(m.disputes):
            _pay(e, m, 0, reward - share * len(m.disputes), "reward_remainder")
        if m.proposal_bond_micro - reward:
            _pay(e, m, m.proposer, m.proposal_bond_micro - reward, "proposal_returned")
    else:
        for account_id, bond in m.disputes:
            _pay(e, m, 0, bond, f"dispute_forfeited:{account_id}")
        if m.proposal_bond_micro:
            _pay(e, m, m.proposer, m.proposal_bond_micro, "proposal_returned")
    m.disputes.clear()
    m.proposal_bond_micro = 0
    settle(e, m, c.winner, c.reason, c.actor)
    return c.winner


def finalize_due(e: Engine, now_ms: int) -> int:
    """Settle every proposal whose dispute window passed without a dispute."""
    done = 0
    while e.resolutions and e.resolutions[0][0] <= now_ms:
        deadline, market_id = heapq.heappop(e.resolutions)
        m = e.markets[market_id]
        if m.status == mk.PROPOSED and m.dispute_deadline_ms == deadline:
            return_bonds(e, m)
            settle(e, m, m.proposed_winner, "dispute window passed", 0)
            done += 1
    return done


def return_bonds(e: Engine, m: Market) -> None:
    """Give every bond back (a supervisor settles or voids directly)."""
    for account_id, bond in m.disputes:
        _pay(e, m, account_id, bond, "dispute_returned")
    if m.proposal_bond_micro:
        _pay(e, m, m.proposer, m.proposal_bond_micro, "proposal_returned")
    m.disputes.clear()
    m.proposal_bond_micro = 0


def settle(e: Engine, m: Market, winner: int, reason: str, actor: int) -> None:
    e.transition(m, mk.SETTLED, reason or f"outcome {winner}", actor)
    for contract in m.contracts:
        yes_wins = winner == 0 if len(m.contracts) == 1 else contract.index == winner
        e.pay_out(contract, MICRO if yes_wins else 0)
    e.close_pools(m)
    m.proposed_winner = winner


def _lock(e: Engine, m: Market, account_id: int, amount: int, kind: str) -> None:
    a = e.accounts[account_id]
    a.free -= amount
    m.bonds_micro += amount
    e.events.append(ev.Bond(e.now_ms, m.id, account_id, amount, kind))


def _pay(e: Engine, m: Market, account_id: int, amount: int, kind: str) -> None:
    """Pay out of the market's bond pool; account 0 is the fee account."""
    m.bonds_micro -= amount
    if account_id and account_id in e.accounts:
        e.accounts[account_id].free += amount
    else:
        e.fees_micro += amount
        m.fees_micro += amount
    e.events.append(ev.Bond(e.now_ms, m.id, account_id, -amount, kind))
