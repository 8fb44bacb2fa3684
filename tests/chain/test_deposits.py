"""Deposits against a real local node: credited once N blocks deep and not before, exactly once
per (tx hash, log index); a reorg removes a deposit that was not confirmed yet."""

from __future__ import annotations

from typing import Any

from foretell.client import Client

from .conftest import CONFIRMATIONS, USDC, Chain, Server, settle, wait_for


def _deposits(c: Client) -> list[dict[str, Any]]:
    return list(c.request("GET", "/funding/deposits")["deposits"])


def _free(c: Client, account_id: int) -> str:
    return str(c.balance()["free"])


def test_deposit_is_credited_after_n_confirmations_and_not_before(chain: Chain,
                                                                 server: Server) -> None:
    c, account_id = server.trader()
    found = c.request("GET", "/funding/deposit-address")
    address = found["address"]
    assert found["confirmations_required"] == CONFIRMATIONS
    # The address is the factory's CREATE2 address for this account: no key was needed.
    assert address == chain.net.w3.eth.contract(
        address=chain.d.factory, abi=chain.artifacts["DepositFactory"]["abi"]
    ).functions.addressOf(account_id).call()
    receipt = chain.pay(0, address, 25 * USDC)
    tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()

    # Seen, then counted at its block (the watcher's head may lag the first sight by a poll).
    seen = wait_for(lambda: [d for d in _deposits(c) if d["confirmations"] >= 1],
                    what="the deposit is seen in its block")
    assert seen[0]["status"] == "pending" and seen[0]["confirmations"] == 1
    assert seen[0]["tx_hash"] == tx_hash and seen[0]["amount"] == "25.000000"
    for confirmations in range(2, CONFIRMATIONS):
        chain.net.mine()
        wait_for(lambda n=confirmations: _deposits(c)[0]["confirmations"] == n)
        settle(0.3)
        assert _deposits(c)[0]["status"] == "pending"
        assert _free(c, account_id) == "0.000000"
    chain.net.mine()
    wait_for(lambda: _deposits(c)[0]["status"] == "credited", what="credited")
    wait_for(lambda: _free(c, account_id) == "25.000000")
    # More blocks never credit it again.
    chain.net.mine(3)
    settle()
    assert _free(c, account_id) == "25.000000"
    assert len(_deposits(c)) == 1


def test_two_transfers_in_one_transaction_are_two_deposits(chain: Chain, server: Server) -> None:
    """Two logs of one transaction (a batch payout) are credited once each: the key is the
    (tx hash, log index), not the transaction."""
    c, account_id = server.trader()
    address = c.request("GET", "/funding/deposit-address")["address"]
    chain.pay(1, address, 3 * USDC)
    chain.pay(1, address, 4 * USDC)
    chain.net.mine(CONFIRMATIONS)
    wait_for(lambda: _free(c, account_id) == "7.000000", what="both credited")
    assert sorted(d["amount"] for d in _deposits(c)) == ["3.000000", "4.000000"]


def test_reorg_removes_an_unconfirmed_deposit(chain: Chain, server: Server) -> None:
    c, account_id = server.trader()
    address = c.request("GET", "/funding/deposit-address")["address"]
    snapshot = chain.net.rpc("evm_snapshot")
    chain.pay(2, address, 40 * USDC)  # block B
    wait_for(lambda: _deposits(c), what="seen while pending")
    assert _deposits(c)[0]["status"] == "pending"
    # The block with the deposit is replaced: revert, then other blocks (one with another
    # transaction, so their hashes differ), longer than before.
    chain.net.rpc("evm_revert", snapshot)
    chain.net.send(chain.users[2], chain.hot_address, value=1)
    chain.net.mine(CONFIRMATIONS + 2)
    wait_for(lambda: _deposits(c)[0]["status"] == "reorged", what="marked reorged")
    settle()
    assert _free(c, account_id) == "0.000000"
    assert _deposits(c)[0]["confirmations"] == 0
    assert chain.balance(address) == 0
