"""The market lifecycle as engine commands: review, clarifications, resolution, disputes, bonds."""

from __future__ import annotations

import pytest

from foretell.domain import commands as cmd
from foretell.domain import events as ev
from foretell.domain import markets as mk
from foretell.domain.units import MICRO

M = MICRO
CREATOR, SUPERVISOR = 9, 8
WINDOW = 24 * 3600 * 1000


def act(ex, action, actor=CREATOR, market=1, reason="because", text=""):
    return ex.do(cmd.MarketAction(ex.ts, market, action, actor, reason, text))


@pytest.fixture
def draft(ex):
    ex.fund(CREATOR, SUPERVISOR, 1, 2, 3)
    ex.ok(cmd.CreateMarket(ex.ts, 1, open_now=False, actor=CREATOR, creator=CREATOR,
                           creator_share_ppm=200_000, dispute_bond_micro=50 * M,
                           dispute_reward_ppm=500_000, meta='{"question": "q?"}'))
    return ex


def test_review_loop_then_open(draft):
    m = draft.engine.markets[1]
    assert m.status == mk.DRAFT
    assert draft.limit(1, "buy_yes", 1, 50)[0] == "market_not_open"
    assert act(draft, "update_draft", text='{"question": "better?"}')[0] == "ok"
    assert act(draft, "submit")[0] == "ok" and m.status == mk.IN_REVIEW
    assert act(draft, "update_draft", text="{}")[0] == "invalid_transition"  # frozen in review
    assert act(draft, "request_changes", SUPERVISOR, reason="cite a source")[0] == "ok"
    assert m.status == mk.CHANGES_REQUESTED
    assert act(draft, "update_draft", text='{"sources": ["x"]}')[0] == "ok"
    assert act(draft, "submit")[0] == "ok"
    assert act(draft, "approve", SUPERVISOR)[0] == "ok" and m.status == mk.OPEN
    assert act(draft, "update_draft", text="{}")[0] == "invalid_transition"  # rules frozen
    assert act(draft, "clarify", text="'Close' means the announced close.")[0] == "ok"
    statuses = [(e["status"], e["actor"]) for e in draft.events(ev.MarketStatus)]
    assert statuses == [(mk.DRAFT, CREATOR), (mk.IN_REVIEW, CREATOR),
                        (mk.CHANGES_REQUESTED, SUPERVISOR), (mk.IN_REVIEW, CREATOR),
                        (mk.OPEN, SUPERVISOR)]
    actions = [e["action"] for e in draft.events(ev.MarketAction)]
    assert actions == ["update_draft", "submit", "request_changes", "update_draft", "submit",
                       "approve", "clarify"]


@pytest.mark.parametrize("action", ["approve", "resume", "close", "clarify", "bogus"])
def test_wrong_state_refusals_change_nothing(draft, action):
    before = draft.hash()
    assert act(draft, action, text="x")[0] == "invalid_transition"
    assert draft.hash() == before


@pytest.fixture
def traded(draft):
    """Open market: 1 holds 10 YES (paid 0.60), 2 holds 10 NO (paid 0.40); 3 holds nothing."""
    for step in ("submit", "approve"):
        act(draft, step, CREATOR if step == "submit" else SUPERVISOR)
    draft.limit(1, "buy_yes", 10, 60)
    draft.limit(2, "buy_no", 10, 40)
    return draft


def propose(ex, winner, bond=20 * M, actor=CREATOR):
    return ex.do(cmd.ProposeResolution(ex.ts, 1, winner, actor, bond, "https://example.com/e"))


def test_undisputed_proposal_settles_after_the_window(traded):
    free_creator = traded.cash(CREATOR)[0]
    assert propose(traded, 0)[0] == "ok"
    m = traded.engine.markets[1]
    assert m.status == mk.PROPOSED and m.bonds_micro == 20 * M
    assert traded.engine.next_deadline_ms() == traded.ts + WINDOW
    traded.ok(cmd.Timer(traded.ts + WINDOW - 1))
    assert m.status == mk.PROPOSED
    traded.ok(cmd.Timer(traded.ts + WINDOW))
    assert m.status == mk.SETTLED and m.bonds_micro == 0
    assert traded.cash(CREATOR)[0] == free_creator  # its proposal bond came back
    assert m.creator_fees_micro == (6_000 + 4_000) // 5  # 20 % of both sides' fees
    assert traded.cash(1)[0] == 1_000 * M - 6 * M - 6_000 + 10 * M


def test_dispute_refusals(traded):
    assert traded.do(cmd.Dispute(traded.ts, 1, 1, 50 * M, "wrong"))[0] == "invalid_transition"
    propose(traded, 0)
    before = traded.hash()
    assert traded.do(cmd.Dispute(traded.ts, 1, 3, 50 * M, "wrong"))[0] == "no_position"
    assert traded.do(cmd.Dispute(traded.ts, 1, 2, 49 * M, "wrong"))[0] == "invalid_amount"
    assert traded.do(cmd.Dispute(traded.ts, 1, 2, 50 * M, ""))[0] == "invalid_order"
    assert traded.hash() == before
    late = cmd.Dispute(traded.ts + WINDOW, 1, 2, 50 * M, "too late")
    assert traded.do(late)[0] == "invalid_transition"
    assert traded.engine.markets[1].bonds_micro == 20 * M


def test_upheld_dispute_returns_bond_plus_reward_and_settles_the_new_outcome(traded):
    propose(traded, 0, bond=20 * M)
    no_holder = traded.cash(2)[0]
    creator = traded.cash(CREATOR)[0]
    traded.ok(cmd.Dispute(traded.ts, 1, 2, 50 * M, "the source says NO"))
    assert traded.cash(2)[0] == no_holder - 50 * M
    assert traded.engine.markets[1].status == mk.DISPUTED
    traded.ok(cmd.DecideDispute(traded.ts, 1, True, 1, SUPERVISOR, "source confirms NO"))
    # bond back + half the proposer's 20 USDC bond, + 10 USDC payout for 10 winning NO shares
    assert traded.cash(2)[0] == no_holder + 10 * M + 10 * M
    assert traded.cash(CREATOR)[0] == creator + 10 * M  # the other half of its bond back
    m = traded.engine.markets[1]
    assert (m.status, m.bonds_micro, m.proposed_winner) == (mk.SETTLED, 0, 1)
    kinds = [e["kind"] for e in traded.events(ev.Bond)]
    assert kinds == ["proposal", "dispute", "dispute_returned", "dispute_reward",
                     "proposal_returned"]


def test_rejected_dispute_forfeits_the_bond_to_the_fee_account(traded):
    propose(traded, 0, bond=0, actor=SUPERVISOR)
    fees = traded.engine.fees_micro
    traded.ok(cmd.Dispute(traded.ts, 1, 2, 50 * M, "I disagree"))
    assert traded.do(cmd.DecideDispute(traded.ts, 1, False, 1, SUPERVISOR, "x"))[0] == (
        "invalid_outcome")
    traded.ok(cmd.DecideDispute(traded.ts, 1, False, 0, SUPERVISOR, "criteria are clear"))
    assert traded.engine.fees_micro == fees + 50 * M
    assert traded.engine.markets[1].status == mk.SETTLED
    assert traded.cash(1)[0] == 1_000 * M - 6 * M - 6_000 + 10 * M


def test_double_settle_and_settle_after_void_are_refused(traded):
    traded.ok(cmd.SettleMarket(traded.ts, 1, 0))
    before = traded.hash()
    for command in (cmd.SettleMarket(traded.ts, 1, 0), cmd.VoidMarket(traded.ts, 1, "x"),
                    cmd.ProposeResolution(traded.ts, 1, 0, CREATOR)):
        assert traded.do(command)[0] == "invalid_transition"
    assert traded.hash() == before


def test_void_during_a_dispute_returns_every_bond(traded):
    propose(traded, 0, bond=20 * M)
    traded.ok(cmd.Dispute(traded.ts, 1, 2, 50 * M, "unclear"))
    creator, holder = traded.cash(CREATOR)[0], traded.cash(2)[0]
    traded.ok(cmd.VoidMarket(traded.ts, 1, "source retracted"))
    assert traded.cash(CREATOR)[0] == creator + 20 * M
    assert traded.cash(2)[0] == holder + 50 * M + 5 * M  # bond back + 10 NO at 0.50
    assert traded.engine.markets[1].bonds_micro == 0
