"""Withdrawals against a real local node: states to confirmed, supervisor approval, refusals
with codes (nothing moves), a transfer that fails on chain is refunded, and reserves equal to
the ledger's liabilities to the micro-USDC after a random mix of everything."""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

import pytest

from foretell.client import Client, ForetellError

from .conftest import CONFIRMATIONS, USDC, Chain, Server, settle, wait_for


def fund(chain: Chain, server: Server, usdc: int, user: int = 0) -> tuple[Client, int]:
    """A new trader with `usdc` deposited on chain and credited."""
    c, account_id = server.trader()
    address = c.request("GET", "/funding/deposit-address")["address"]
    chain.pay(user, address, usdc * USDC)
    chain.net.mine(CONFIRMATIONS)
    wait_for(lambda: c.balance()["free"] == f"{usdc}.000000", what="deposit credited")
    return c, account_id


def withdraw(c: Client, amount: str, address: str, request_id: str | None = None) -> Any:
    return c.request("POST", "/funding/withdrawals", body={
        "amount": amount, "address": address, "request_id": request_id or uuid.uuid4().hex})


def status(c: Client, withdrawal_id: int) -> str:
    return str(c.request("GET", f"/funding/withdrawals/{withdrawal_id}")["status"])


def confirm_all(chain: Chain, c: Client, withdrawal_id: int, final: str = "confirmed") -> None:
    """Mine until the withdrawal is final. "broadcast" is recorded just before the transaction
    is sent, so blocks mined at once may all come before it: then one more block at a time."""
    wait_for(lambda: status(c, withdrawal_id) in ("broadcast", final), what="broadcast")
    chain.net.mine(CONFIRMATIONS)
    deadline = time.monotonic() + 60
    while status(c, withdrawal_id) != final:
        assert time.monotonic() < deadline, f"not {final} within 60 s"
        time.sleep(1)
        if status(c, withdrawal_id) != final:
            chain.net.mine()


def test_withdrawal_leaves_free_cash_at_once_and_is_confirmed(chain: Chain,
                                                              server: Server) -> None:
    c, _ = fund(chain, server, 100)
    to = chain.address(chain.users[1])
    before = chain.balance(to)
    w = withdraw(c, "30.25", to)
    assert w["status"] == "approved" and w["amount"] == "30.250000"
    assert c.balance()["free"] == "69.750000"
    wait_for(lambda: status(c, w["id"]) == "broadcast", what="broadcast")
    assert chain.balance(to) == before + 30_250_000  # mined at once by the node
    assert status(c, w["id"]) == "broadcast"  # ... but only 1 confirmation so far
    chain.net.mine(CONFIRMATIONS)
    wait_for(lambda: status(c, w["id"]) == "confirmed")
    done = c.request("GET", f"/funding/withdrawals/{w['id']}")
    assert done["tx_hash"].startswith("0x") and len(done["tx_hash"]) == 66
    assert [x["id"] for x in c.request("GET", "/funding/withdrawals")["withdrawals"]] == [w["id"]]


def test_large_withdrawal_waits_for_a_supervisor(chain: Chain, server: Server) -> None:
    c, account_id = fund(chain, server, 6_000)
    to = chain.address(chain.users[1])
    w = withdraw(c, "5500", to)
    assert w["status"] == "requested" and w["needs_approval"]
    assert c.balance()["free"] == "500.000000"
    settle()
    assert status(c, w["id"]) == "requested"  # nothing signed without approval
    admin = server.admin()
    queue = admin.request("GET", "/admin/funding/withdrawals", params={"status": "requested"})
    assert w["id"] in [x["id"] for x in queue["withdrawals"]]
    approved = admin.request("POST", f"/admin/funding/withdrawals/{w['id']}/approve")
    assert approved["status"] == "approved"
    confirm_all(chain, c, w["id"])
    # A rejected one comes back to free cash.
    w2 = withdraw(c, "400", to)
    assert w2["status"] == "approved"  # under the limit: no approval needed
    # (it may be signed already; a large one is rejected instead)
    c2, _ = fund(chain, server, 5_100, user=2)
    w3 = withdraw(c2, "5050", to)
    rejected = admin.request("POST", f"/admin/funding/withdrawals/{w3['id']}/reject",
                             body={"reason": "unusual destination"})
    assert rejected["status"] == "refunded"
    assert c2.balance()["free"] == "5100.000000"
    confirm_all(chain, c, w2["id"])


def _refused(call: Any, status_code: int, code: str) -> None:
    with pytest.raises(ForetellError) as err:
        call()
    assert (err.value.status, err.value.code) == (status_code, code), err.value


def test_bad_withdrawals_are_refused_with_a_code_and_nothing_moves(chain: Chain,
                                                                  server: Server) -> None:
    c, account_id = fund(chain, server, 50)
    other, _ = server.trader()
    to = chain.address(chain.users[1])
    own_deposit = c.request("GET", "/funding/deposit-address")["address"]
    their_deposit = other.request("GET", "/funding/deposit-address")["address"]
    bad_case = to[:2] + (to[2:].lower() if to[2:] != to[2:].lower() else to[2:].upper())
    first = withdraw(c, "5", to, "once")
    table = [
        ("5", "0x1234", "", 400, "invalid_address"),
        ("5", bad_case, "", 400, "address_checksum"),
        ("5", chain.hot_address, "", 400, "exchange_address"),
        ("5", chain.d.factory, "", 400, "exchange_address"),
        ("5", chain.d.token, "", 400, "exchange_address"),
        ("5", own_deposit, "", 400, "exchange_address"),
        ("5", their_deposit, "", 400, "exchange_address"),
        ("0", to, "", 400, "invalid_amount"),
        ("-3", to, "", 422, "invalid_request"),  # not a decimal of ASCII digits
        ("1.0000001", to, "", 422, "invalid_request"),
        ("\u0665", to, "", 422, "invalid_request"),  # an Arabic-Indic five
        ("1\u0665.5", to, "", 422, "invalid_request"),
        ("\uff15", to, "", 422, "invalid_request"),  # a fullwidth five
        ("5 ", to, "", 422, "invalid_request"),
        ("0.5", to, "", 400, "amount_too_small"),
        ("100001", to, "", 400, "amount_too_large"),
        ("46", to, "", 409, "insufficient_funds"),
        ("5", to, "once", 409, "duplicate_request_id"),
    ]
    for amount, address, request_id, code_status, code in table:
        _refused(lambda a=amount, d=address, r=request_id: withdraw(c, a, d, r or None),
                 code_status, code)
    # Strict bodies: a JSON string where a string is due (not a number or a boolean), no
    # unknown field.
    good = {"amount": "5", "address": to, "request_id": "strict"}
    for wrong in ({"amount": 5}, {"amount": 5.0}, {"amount": True}, {"address": None},
                  {"address": 0}, {"request_id": True}, {"request_id": 7}, {"to": to}):
        _refused(lambda w=wrong: c.request("POST", "/funding/withdrawals", body={**good, **w}),
                 422, "invalid_request")
    assert c.balance()["free"] == "45.000000"
    mine = c.request("GET", "/funding/withdrawals")["withdrawals"]
    assert [w["id"] for w in mine] == [first["id"]]
    _refused(lambda: c.request("GET", f"/funding/withdrawals/{first['id'] + 10_000}"), 404,
             "unknown_withdrawal")
    _refused(lambda: other.request("GET", f"/funding/withdrawals/{first['id']}"), 404,
             "unknown_withdrawal")
    confirm_all(chain, c, first["id"])

    # A supervisor's reason: a string, cleaned of control characters, escapes and bidi
    # overrides before it is kept and shown to the trader.
    big, _ = fund(chain, server, 5_100, user=2)
    w = withdraw(big, "5050", to)
    assert w["status"] == "requested"
    admin = server.admin()
    admin_id = int(admin.request("GET", "/account")["id"])
    reject = f"/admin/funding/withdrawals/{w['id']}/reject"
    for wrong in ({"reason": True}, {"reason": 3}, {"reason": None}, {"reason": "\x00\x07\x1b"},
                  {"reason": "fine", "extra": 1}, {}):
        _refused(lambda b=wrong: admin.request("POST", reject, body=b), 422, "invalid_request")
    assert status(big, w["id"]) == "requested" and big.balance()["free"] == "50.000000"
    done = admin.request("POST", reject,
                         body={"reason": "odd\x00 \x1b[31mdestination\x1b[0m\u202e\x07 (fraud?)"})
    assert done["status"] == "refunded"
    assert done["note"] == f"rejected by {admin_id}: odd destination (fraud?)"
    assert big.request("GET", f"/funding/withdrawals/{w['id']}")["note"] == done["note"]
    assert big.balance()["free"] == "5100.000000"


def test_daily_limit(chain: Chain, server: Server) -> None:
    c, _ = fund(chain, server, 21_000, user=2)
    admin = server.admin()
    to = chain.address(chain.users[1])
    w = withdraw(c, "4000", to)
    big = [withdraw(c, "5000", to, f"big{i}") for i in range(3)]  # 19,000 so far
    _refused(lambda: withdraw(c, "1001", to), 409, "daily_limit_exceeded")
    for b in big:
        admin.request("POST", f"/admin/funding/withdrawals/{b['id']}/reject",
                      body={"reason": "test"})
    for x in [w]:
        confirm_all(chain, c, x["id"])


def test_a_transfer_that_fails_on_chain_is_refunded(chain: Chain, server: Server) -> None:
    c, _ = fund(chain, server, 80)
    blocked = chain.address(chain.users[2])
    chain.token(chain.deployer, "setBlocked", blocked, True)  # USDC-style blocklist
    try:
        w = withdraw(c, "20", blocked)
        assert c.balance()["free"] == "60.000000"
        confirm_all(chain, c, w["id"], final="refunded")
    finally:
        chain.token(chain.deployer, "setBlocked", blocked, False)
    assert c.balance()["free"] == "80.000000"
    done = c.request("GET", f"/funding/withdrawals/{w['id']}")
    assert "failed on chain" in done["note"]
    cash = c.request("GET", "/portfolio/cash")["movements"]
    assert any(m["reason"] == f"usdc-refund #{w['id']}" and m["amount"] == "20.000000"
               for m in cash)


def test_reserves_equal_liabilities_after_a_random_mix(chain: Chain, server: Server) -> None:
    """Deposits, trades with fees, a settlement, withdrawals (one failed and refunded), sweeps:
    once everything is final, tokens held == what the ledger owes, to the micro-USDC."""
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    admin = server.admin()
    traders = [fund(chain, server, rng.randrange(200, 900), user=i % 3) for i in range(3)]
    m = admin.admin_create_market(slug=f"m-{uuid.uuid4().hex[:10]}",
                                  question="Will the chain tests pass today?",
                                  outcomes=["Yes", "No"])
    contract = m["contract_ids"][0]
    wait_for(lambda: _visible(admin, m["id"]))
    for _ in range(12):
        a, b = rng.sample(traders, 2)
        price = f"0.{rng.randrange(10, 90)}"
        size = rng.randrange(1, 30)
        a[0].place_order(contract_id=contract, outcome="yes", side="buy", price=price, size=size)
        no = f"{1 - float(price):.2f}"  # test-side only: the API parses the string exactly
        b[0].place_order(contract_id=contract, outcome="no", side="buy", price=no, size=size)
    admin.admin_settle(m["id"], rng.randrange(2))
    to = chain.address(chain.users[1])
    pending = []
    for c, _ in traders:
        free = int(c.balance()["free"].replace(".", ""))
        amount = rng.randrange(1 * USDC, max(free // 2, 1 * USDC + 1))
        pending.append((c, withdraw(c, f"{amount // USDC}.{amount % USDC:06d}", to)))
    for c, w in pending:
        confirm_all(chain, c, w["id"])
    chain.net.mine(CONFIRMATIONS)  # sweeps final too
    settle()
    report = wait_for(lambda: _balanced(server), what="reserves balanced", timeout_s=10)
    print(f"seed {seed}: {report}")
    assert report["pending_withdrawals"] == "0.000000"
    assert admin.admin_audit()["ok"]


def _visible(admin: Client, market_id: int) -> bool:
    try:
        admin.market(market_id)
    except ForetellError:
        return False
    return True


def _balanced(server: Server) -> dict[str, Any] | None:
    """The reserves report once no deposit or transfer is in flight: held == owed exactly
    (deposits of other tests are all credited by now)."""
    c = server.admin()
    report: dict[str, Any] = c.request("GET", "/reserves")
    assert not report["shortfall"], report
    return report if report["held_micro"] == report["owed_micro"] else None
