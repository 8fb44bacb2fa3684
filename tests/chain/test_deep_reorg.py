"""A reorg deeper than the confirmations, against a real local node (its own, this module's):
a deposit credited after N blocks leaves the chain. The credit is neither reversed nor doubled;
the deposit becomes `reorged_credited`, the supervisor is alerted, the account's withdrawals
are frozen, and the reserves show the shortfall. Unfrozen, the account withdraws again once the
reserves allow it (here: the operator covers the loss, then resolves the shortfall)."""

from __future__ import annotations

from typing import Any

import pytest

from foretell.chain.store import deposit_reason
from foretell.client import Client, ForetellError

from .conftest import CONFIRMATIONS, USDC, Chain, Server, settle, wait_for
from .test_withdrawals import fund, status, withdraw


def _deposits(c: Client) -> list[dict[str, Any]]:
    return list(c.request("GET", "/funding/deposits")["deposits"])


def _refused(call: Any) -> tuple[int, str]:
    with pytest.raises(ForetellError) as err:
        call()
    return err.value.status, err.value.code


def test_deep_reorg_after_credit_freezes_withdrawals_and_shows_the_shortfall(
        chain: Chain, server: Server) -> None:
    # Before the fork, for good: 100 USDC to this account, 20 to another; both swept.
    c, account_id = fund(chain, server, 100)
    c2, _ = fund(chain, server, 20, user=1)
    admin = server.admin()
    address = c.request("GET", "/funding/deposit-address")["address"]
    wait_for(lambda: chain.balance(chain.hot_address) == 120 * USDC, what="both swept")
    chain.net.mine(CONFIRMATIONS)
    settle()
    before = admin.request("GET", "/reserves")
    assert not before["shortfall"] and before["held"] == before["owed"] == "120.000000"

    # 1. A deposit of 40 USDC, credited after N confirmations and swept; meanwhile the other
    # account withdraws 5 USDC, confirmed. Both hot-wallet transactions are N deep.
    snapshot = chain.net.rpc("evm_snapshot")
    receipt = chain.pay(2, address, 40 * USDC)  # block B
    tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
    reason = deposit_reason(tx_hash, int(receipt["logs"][0]["logIndex"]))
    chain.net.mine(CONFIRMATIONS - 1)
    wait_for(lambda: c.balance()["free"] == "140.000000", what="second deposit credited")
    assert _deposits(c)[0]["status"] == "credited"
    wait_for(lambda: chain.balance(chain.hot_address) == 160 * USDC, what="second sweep mined")
    to2 = chain.address(chain.users[0])
    to2_before = chain.balance(to2)
    w2 = withdraw(c2, "5", to2)
    wait_for(lambda: status(c2, w2["id"]) == "broadcast", what="other withdrawal sent")
    chain.net.mine(CONFIRMATIONS)
    wait_for(lambda: status(c2, w2["id"]) == "confirmed", what="other withdrawal confirmed")
    w2_hash = c2.request("GET", f"/funding/withdrawals/{w2['id']}")["tx_hash"]
    settle()
    old_head = chain.net.head()

    # 2. ... then block B leaves the chain: back to before it, and a longer chain without it.
    # Each replacement block carries another transaction: Ganache would give a re-mined empty
    # block the same hash as the old one when the timestamp matches.
    chain.net.rpc("evm_revert", snapshot)
    n = 0
    while chain.net.head() <= old_head + 1:
        n += 1
        chain.net.send(chain.users[1], chain.address(chain.users[2]), value=n)
    assert chain.balance(address) == 0  # the 40 never arrived, after all

    # The deposit is reorged_credited, the supervisor is alerted, the account frozen.
    wait_for(lambda: _deposits(c)[0]["status"] == "reorged_credited", what="reorged_credited")
    alerts = admin.request("GET", "/admin/funding/alerts")["alerts"]
    deep = [a for a in alerts if a["kind"] == "deep_reorg"]
    assert len(deep) == 1 and deep[0]["account_id"] == account_id
    assert tx_hash in deep[0]["message"] and deep[0]["resolved_ms"] is None
    assert "reorged_credited" in [d["status"] for d in admin.request(
        "GET", "/admin/funding/deposits")["deposits"] if d["tx_hash"] == tx_hash]
    assert "was credited and its block left the chain" in server.log()

    # The hot wallet's transactions that left with the old blocks are followed again: the same
    # signed withdrawal (one nonce) is mined in the new chain, once; the sweep's nonce too, so
    # nothing later waits behind a gap.
    chain.net.mine(CONFIRMATIONS)
    wait_for(lambda: status(c2, w2["id"]) == "confirmed" and chain.balance(to2) > to2_before,
             what="the other withdrawal confirmed again in the new chain")
    assert c2.request("GET", f"/funding/withdrawals/{w2['id']}")["tx_hash"] == w2_hash
    assert chain.balance(to2) == to2_before + 5 * USDC
    assert chain.balance(chain.hot_address) == 115 * USDC

    # The reserves say so: 115 held against 155 owed; withdrawals halted for everyone.
    short = wait_for(lambda: (r := admin.request("GET", "/reserves"))["shortfall"] and r,
                     what="shortfall reported")
    assert short["held"] == "115.000000" and short["owed"] == "155.000000"
    assert short["surplus"] == "-40.000000" and short["ratio"] == "0.741935"
    assert short["pending_withdrawals"] == "0.000000"
    assert short["withdrawals_halted"]
    shortfall = [a for a in admin.request("GET", "/admin/funding/alerts")["alerts"]
                 if a["kind"] == "reserves_shortfall"]
    assert len(shortfall) == 1

    # A withdrawal is refused (frozen: the account's own reason comes first); nothing moves.
    to = chain.address(chain.users[1])
    to_before = chain.balance(to)
    assert _refused(lambda: withdraw(c, "10", to)) == (409, "withdrawals_frozen")
    assert c.request("GET", "/funding/withdrawals")["withdrawals"] == []

    # The credit is never reversed nor doubled, however many blocks come.
    chain.net.mine(CONFIRMATIONS + 2)
    settle()
    assert c.balance()["free"] == "140.000000"
    movements = c.request("GET", "/portfolio/cash")["movements"]
    assert len(movements) == 2  # the two deposits, nothing taken back
    assert [m for m in movements if m["reason"] == reason][0]["amount"] == "40.000000"
    assert len([m for m in movements if m["reason"] == reason]) == 1
    assert [d["status"] for d in _deposits(c)] == ["reorged_credited", "credited"]
    assert chain.balance(to) == to_before

    # 3. The supervisor unfreezes the account: still short, so withdrawals stay halted.
    unfrozen = admin.request("POST", f"/admin/funding/accounts/{account_id}/unfreeze")
    assert unfrozen == {"account_id": account_id, "unfrozen": True}
    assert _refused(lambda: withdraw(c, "10", to)) == (503, "withdrawals_halted")
    assert c.balance()["free"] == "140.000000"
    # The operator covers the loss; the shortfall is resolved; the account withdraws again.
    chain.token(chain.users[0], "transfer", chain.hot_address, 40 * USDC)
    wait_for(lambda: not admin.request("GET", "/reserves")["shortfall"], what="covered")
    admin.request("POST", f"/admin/funding/alerts/{shortfall[0]['id']}/resolve")
    admin.request("POST", f"/admin/funding/alerts/{deep[0]['id']}/resolve")
    w = withdraw(c, "10", to)
    assert c.balance()["free"] == "130.000000"
    wait_for(lambda: status(c, w["id"]) == "broadcast", what="broadcast")
    chain.net.mine(CONFIRMATIONS)
    wait_for(lambda: status(c, w["id"]) == "confirmed", what="confirmed")
    assert chain.balance(to) == to_before + 10 * USDC
    after = admin.request("GET", "/reserves")
    assert not after["shortfall"] and after["held"] == after["owed"] == "145.000000"
