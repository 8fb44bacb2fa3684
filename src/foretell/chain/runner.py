"""`Funding`: the verbs of real USDC (deposit address, withdraw, approve, reserves) and the
asyncio task that drives the watcher, the withdrawal worker, sweeps and the reserves check.

All engine access is on the event loop; RPC and SQL run in worker threads. Money moves only
through journaled commands, each with a reason that names what it is for, so a restart can
tell what was done (`store.reconcile`):
  deposit   `Deposit(account, amount, "usdc-in <tx>:<log>")` once N blocks deep;
  withdraw  `Withdraw(account, amount, "usdc-out #<id>")` at the request;
  refund    `Deposit(account, amount, "usdc-refund #<id>")` when the transfer failed on chain
            or a supervisor rejected the request.
One lock orders this process's withdrawal requests and refunds. The reserves need no lock:
they take the ledger at one seq and count the withdrawals owed as of that same seq from the
journal's record (`store.owed_out_at`), so a withdrawal half taken out of the ledger, here or
on another gateway, is counted once either way.

A shortfall halts withdrawals on every gateway: the halt is the open `reserves_shortfall` alert
in the shared store, read where it matters (each request, each chain cycle before signing), not
a flag of one process; a supervisor's resolution (on any gateway) lifts it everywhere.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import time
from functools import partial
from typing import Any

from eth_utils.address import to_checksum_address

from foretell.chain import reserves, store, watcher, withdrawals
from foretell.chain.evm import Evm, create2_address
from foretell.chain.reserves import Liabilities
from foretell.config import ChainSettings
from foretell.domain import commands as cmd
from foretell.domain.codes import Refused, refused
from foretell.domain.units import UnitError, format_micro, parse_micro
from foretell.services import Services

log = logging.getLogger(__name__)
day_ms = 86_400_000
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
# Fault injection for the crash test only: the server kills itself (SIGKILL) right after
# storing signed withdrawals and before broadcasting them.
CRASH_ENV = "FORETELL_CHAIN_TEST_CRASH_AFTER_SIGN"
SHORTFALL = "reserves_shortfall"  # its open alert halts withdrawals
catch_up_s = 10.0  # a reserves check waits this long for the engine and the store, then fails


class Funding:
    def __init__(self, svc: Services, cfg: ChainSettings) -> None:
        self.svc = svc
        self.cfg = cfg
        self.db = svc.db
        self.evm = Evm(cfg.rpc_url, cfg.token)
        self.wallet = withdrawals.HotWallet(cfg)
        self.factory = to_checksum_address(cfg.factory)
        self.lock = asyncio.Lock()
        self.head = 0
        self.last_reserves: dict[str, Any] | None = None
        self._init_code_hash = b""

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Check the chain matches the settings, finish what a crash interrupted."""
        await asyncio.to_thread(self._check_chain)
        fixed = await asyncio.to_thread(store.reconcile, self.db)
        if any(fixed.values()):
            log.warning("chain: finished after a restart: %s", fixed)

    async def lead(self) -> None:
        """Cluster mode: the chain job, on the one gateway holding its lease. Waits until the
        store has projected every command this gateway has applied (what a holder that died
        left in flight included), finishes what it interrupted, then runs the cycle."""
        target = self.svc.pipeline.seq
        waited = 0
        while self.svc.node.health()["projected_seq"] < target:
            if waited % 200 == 199:
                log.warning("chain: waiting for the store to project seq %d", target)
            waited += 1
            await asyncio.sleep(0.05)
        await self.start()
        await self.run()

    def _check_chain(self) -> None:
        if self.evm.chain_id() != self.cfg.chain_id:
            raise RuntimeError(f"chain id {self.evm.chain_id()} != configured {self.cfg.chain_id}")
        if self.evm.decimals() != self.cfg.token_decimals:
            raise RuntimeError("the token's decimals differ from the configured 6")
        if self.evm.call_factory(self.factory, "hotWallet") != self.wallet.address:
            raise RuntimeError("the deposit factory sweeps to another hot wallet")
        if self.evm.call_factory(self.factory, "token") != self.evm.token:
            raise RuntimeError("the deposit factory serves another token")
        self._init_code_hash = bytes(self.evm.call_factory(self.factory, "initCodeHash"))

    async def run(self) -> None:
        while True:
            try:
                await self.cycle()
            except asyncio.CancelledError:
                raise
            except Exception:  # the RPC node may be down for a while: keep trying
                log.exception("chain cycle failed")
            await asyncio.sleep(self.cfg.poll_s)

    async def cycle(self) -> None:
        """One pass: deposits, withdrawals, sweeps, reserves."""
        now = self.svc.clock()
        found = await asyncio.to_thread(watcher.scan, self.db, self.evm, self.cfg, now)
        self.head = found.head
        for dep in found.ready:
            await self._credit(dep)
        halted = await asyncio.to_thread(self.halted)
        if not halted:
            crash = _crash if os.environ.get(CRASH_ENV) else None
            await asyncio.to_thread(withdrawals.sign_due, self.db, self.evm, self.cfg,
                                    self.wallet, now, crash)
        followed = await asyncio.to_thread(withdrawals.follow, self.db, self.evm, self.cfg,
                                           found.head, now)
        for withdrawal_id in followed.failed:
            await self._refund(withdrawal_id, (store.FAILED,), "the transfer failed on chain")
        if not halted:
            await asyncio.to_thread(self._sweep, now)
        await self.reserves()

    async def _credit(self, dep: store.Deposit) -> None:
        await asyncio.to_thread(store.set_deposit, self.db, dep.id, store.CREDITING)
        # Journaled for the account: its next read waits until the store has the credit.
        outcome = await self.svc.execute(cmd.Deposit(
            0, dep.account_id, dep.amount_micro, store.deposit_reason(dep.tx_hash, dep.log_index)),
            dep.account_id)
        if not outcome.ok:  # an amount the engine refuses: for the supervisor
            await asyncio.to_thread(self._refused_deposit, dep, outcome.code)
            return
        await asyncio.to_thread(store.set_deposit, self.db, dep.id, store.CREDITED,
                                self.svc.clock())
        log.info("credited deposit %s:%d: %d micro-USDC to account %d", dep.tx_hash,
                 dep.log_index, dep.amount_micro, dep.account_id)

    def _refused_deposit(self, dep: store.Deposit, code: str) -> None:
        store.set_deposit(self.db, dep.id, "refused")
        store.alert(self.db, "deposit_refused", dep.account_id,
                    f"deposit {dep.tx_hash}:{dep.log_index} of {dep.amount_micro} micro-USDC "
                    f"was refused by the ledger ({code})", self.svc.clock())

    async def _refund(self, withdrawal_id: int, expect: tuple[str, ...], why: str) -> None:
        async with self.lock:
            w = await asyncio.to_thread(store.withdrawal, self.db, withdrawal_id)
            if w is None or w["status"] not in expect or not w["debited"]:
                return
            outcome = await self.svc.execute(cmd.Deposit(
                0, int(w["account_id"]), int(w["amount_micro"]),
                store.refund_reason(withdrawal_id)), int(w["account_id"]))
            assert outcome.ok, outcome.code
            await asyncio.to_thread(store.set_withdrawal, self.db, withdrawal_id,
                                    self.svc.clock(), status=store.REFUNDED, note=why)
        log.info("withdrawal %d refunded: %s", withdrawal_id, why)

    def _sweep(self, now_ms: int) -> None:
        """Move deposits from their addresses to the hot wallet (gas from the hot wallet)."""
        busy = store.sweeps_in_flight(self.db)
        for account_id in store.sweep_candidates(self.db):
            if account_id in busy:
                continue
            address = store.address_of(self.db, account_id)
            if address is None or self.evm.balance(address) < self.cfg.sweep_min_micro:
                continue
            withdrawals.sign_sweep(self.db, self.evm, self.cfg, self.wallet, account_id, now_ms)

    # -- deposits -----------------------------------------------------------------------------

    def address_for(self, account_id: int) -> str:
        """The account's deposit address: computed (CREATE2), no key needed; kept in the store
        so the watcher knows it."""
        address = create2_address(self.factory, account_id, self._init_code_hash)
        store.save_address(self.db, account_id, address, self.svc.clock())
        return address

    async def deposit_address(self, account_id: int) -> dict[str, Any]:
        address = await self.svc.off_loop(partial(self.address_for, account_id))
        return {"address": address, "chain_id": self.cfg.chain_id, "token": self.evm.token,
                "token_symbol": "USDC", "decimals": self.cfg.token_decimals,
                "confirmations_required": self.cfg.confirmations,
                "note": "Send USDC (this token only) on this chain to this address. It is "
                        "credited after the confirmations shown."}

    async def deposits(self, account_id: int | None) -> list[dict[str, Any]]:
        rows = await self.svc.off_loop(partial(store.deposits, self.db, account_id))
        return [self._deposit_view(r) for r in rows]

    def _deposit_view(self, r: dict[str, Any]) -> dict[str, Any]:
        live = r["status"] in (store.PENDING, store.CREDITING, store.CREDITED)
        confirmations = max(0, self.head - int(r["block_number"]) + 1) if live else 0
        return {"id": r["id"], "account_id": r["account_id"], "tx_hash": r["tx_hash"],
                "log_index": r["log_index"], "from": r["sender"], "address": r["address"],
                "amount": format_micro(r["amount_micro"]), "status": r["status"],
                "confirmations": confirmations,
                "confirmations_required": self.cfg.confirmations,
                "block_number": r["block_number"], "seen_ms": r["seen_ms"],
                "credited_ms": r["credited_ms"]}

    # -- withdrawals --------------------------------------------------------------------------

    async def request_withdrawal(self, account_id: int, amount: str, address: str,
                                 request_id: str) -> dict[str, Any]:
        to = self._check_address(address)
        amount_micro = self._check_amount(amount)
        async with self.lock:
            await self.svc.off_loop(partial(self._check_request, account_id, request_id, to,
                                            amount_micro))
            a = self.svc.engine.accounts.get(account_id)
            if a is None or a.free < amount_micro:
                raise refused("insufficient_funds")
            needs_approval = amount_micro > self.cfg.approval_above_micro
            withdrawal_id = await self.svc.off_loop(partial(
                store.insert_withdrawal, self.db, account_id, request_id, to, amount_micro,
                needs_approval, self.svc.clock()))
            outcome = await self.svc.execute(cmd.Withdraw(
                0, account_id, amount_micro, store.withdrawal_reason(withdrawal_id)), account_id)
            if not outcome.ok:
                await self.svc.off_loop(partial(store.delete_withdrawal, self.db, withdrawal_id))
                raise refused(outcome.code)
            await self.svc.off_loop(partial(
                store.set_withdrawal, self.db, withdrawal_id, self.svc.clock(), debited=True,
                status=store.REQUESTED if needs_approval else store.APPROVED,
                approved_by=None if needs_approval else 0))
        return await self.withdrawal(withdrawal_id)

    def _check_address(self, address: str) -> str:
        if not _ADDRESS.match(address):
            raise Refused("invalid_address", "Give a 0x address of 40 hex digits.")
        if to_checksum_address(address) != address:
            raise Refused("address_checksum", "The address is not EIP-55 checksummed "
                           "(or a letter is mistyped); copy it from the wallet exactly.")
        if address in (self.wallet.address, self.factory, self.evm.token):
            raise Refused("exchange_address", "That is one of the exchange's own "
                           "addresses; withdraw to a wallet of yours.")
        return address

    def _check_amount(self, amount: str) -> int:
        try:
            micro = parse_micro(amount)
        except UnitError as exc:
            raise Refused("invalid_amount", str(exc)) from exc
        if micro <= 0:
            raise Refused("invalid_amount", "The amount must be positive.")
        if micro < self.cfg.withdrawal_min_micro:
            raise Refused("amount_too_small", "The smallest withdrawal is "
                           f"{format_micro(self.cfg.withdrawal_min_micro)} USDC.")
        if micro > self.cfg.withdrawal_max_micro:
            raise Refused("amount_too_large", "The largest withdrawal is "
                           f"{format_micro(self.cfg.withdrawal_max_micro)} USDC.")
        return micro

    def _check_request(self, account_id: int, request_id: str, to: str, amount: int) -> None:
        """Store-side checks (off the loop): idempotency, own addresses, freeze, daily cap."""
        old = store.by_request(self.db, account_id, request_id)
        if old is not None:
            raise Refused("duplicate_request_id", "This request_id was already used; "
                           "nothing new was done.", details={"withdrawal_id": old["id"]})
        if to in store.addresses(self.db):
            raise Refused("exchange_address", "That is a deposit address of this "
                           "exchange; withdraw to a wallet of yours.")
        if (reason := store.frozen(self.db, account_id)) is not None:
            raise Refused("withdrawals_frozen", "Withdrawals from this account are "
                           "frozen until a supervisor reviews it.", details={"reason": reason})
        used = store.withdrawn_since(self.db, account_id, self.svc.clock() - day_ms)
        if used + amount > self.cfg.withdrawal_daily_max_micro:
            left = max(0, self.cfg.withdrawal_daily_max_micro - used)
            raise Refused("daily_limit_exceeded", "That would pass the daily withdrawal "
                           f"limit; {format_micro(left)} USDC is left for the next 24 hours.")
        if self.halted():  # last, as before: the other refusals say more to the trader
            raise Refused("withdrawals_halted", "Withdrawals are halted: the "
                           "exchange's on-chain reserves are short. A supervisor is on it.")

    def halted(self) -> bool:
        """Blocking (one small SQL read): whether a reserves shortfall is open in the store the
        gateways share, so withdrawals are halted everywhere."""
        return store.is_open(self.db, SHORTFALL)

    async def withdrawal(self, withdrawal_id: int,
                         account_id: int | None = None) -> dict[str, Any]:
        w = await self.svc.off_loop(partial(store.withdrawal, self.db, withdrawal_id))
        if w is None or (account_id is not None and w["account_id"] != account_id):
            raise Refused("unknown_withdrawal", "No such withdrawal.")
        return _withdrawal_view(w)

    async def withdrawals(self, account_id: int | None,
                          status: str | None = None) -> list[dict[str, Any]]:
        rows = await self.svc.off_loop(partial(store.withdrawals, self.db, account_id, status))
        return [_withdrawal_view(w) for w in rows]

    async def approve(self, withdrawal_id: int, by: int) -> dict[str, Any]:
        done = await self.svc.off_loop(partial(
            store.set_withdrawal, self.db, withdrawal_id, self.svc.clock(),
            expect=(store.REQUESTED,), status=store.APPROVED, approved_by=by))
        if not done:
            raise Refused("invalid_transition", "Only a requested withdrawal can be "
                           "approved.")
        return await self.withdrawal(withdrawal_id)

    async def reject(self, withdrawal_id: int, by: int, reason: str) -> dict[str, Any]:
        done = await self.svc.off_loop(partial(
            store.set_withdrawal, self.db, withdrawal_id, self.svc.clock(),
            expect=(store.REQUESTED, store.APPROVED), status=store.REJECTED,
            note=f"rejected by {by}: {reason}"[:300]))
        if not done:
            raise Refused("invalid_transition", "Only a withdrawal not yet signed can "
                           "be rejected.")
        await self._refund(withdrawal_id, (store.REJECTED,), f"rejected by {by}: {reason}")
        return await self.withdrawal(withdrawal_id)

    # -- reserves and alerts --------------------------------------------------------------------

    async def reserves(self) -> dict[str, Any]:
        """Check the reserves now; a shortfall opens the alert that halts withdrawals (unless a
        supervisor resolved one since this check began: its view may predate the top-up)."""
        began = await asyncio.to_thread(store.resolved_count, self.db, SHORTFALL)
        report = await self.check()
        if report["shortfall"]:
            message = (f"reserves shortfall at block {report['block']}: held {report['held']} "
                       f"< owed {report['owed']} USDC; withdrawals halted")
            if await asyncio.to_thread(store.alert, self.db, SHORTFALL, None, message,
                                       self.svc.clock(), True, began):
                log.error(message)
        report["withdrawals_halted"] = await asyncio.to_thread(self.halted)
        report["hot_wallet_address"] = self.wallet.address
        report["confirmations_required"] = self.cfg.confirmations
        self.last_reserves = report
        return report

    async def check(self) -> dict[str, Any]:
        """The report, with held and owed taken at one consistent point:
          1 the chain's head block H (balances and receipts are read at H);
          2 the engine here catches up with every command stored by then: a withdrawal mined
            by H was signed before, so its Withdraw is in the ledger taken next;
          3 the ledger at the engine's seq S (on the loop, at once);
          4 the withdrawals owed as of S, from the journal's record (once the store has S).
        Debited on another gateway but not yet in this engine is not owed twice; in this engine
        but not yet marked debited is not missed."""
        block = await asyncio.to_thread(self.evm.head)
        if not await self.svc.node.caught_up(catch_up_s):
            raise Refused("unavailable", "This gateway's engine is behind the command "
                           "stream; the reserves are checked again shortly.")
        seq = self.svc.pipeline.seq
        ledger = reserves.liabilities(self.svc.engine)
        return await self.report_at(ledger, seq, block)

    async def report_at(self, ledger: Liabilities, seq: int,
                        block: int) -> dict[str, Any]:
        """The report for the ledger as of `seq` against the chain at `block`."""
        deadline = time.monotonic() + catch_up_s
        while (out := await asyncio.to_thread(store.owed_out_at, self.db, seq)) is None:
            if time.monotonic() > deadline:
                raise Refused("unavailable", "The store is behind the ledger; the reserves "
                               "are checked again shortly.")
            await asyncio.sleep(0.02)
        addresses = await asyncio.to_thread(lambda: sorted(store.addresses(self.db)))
        held = await asyncio.to_thread(reserves.holdings, self.evm, self.wallet.address,
                                       addresses, [tx for _, tx in out if tx], block)
        gas = await asyncio.to_thread(store.gas_spent_wei, self.db)
        return reserves.report(ledger, out, held, gas)

    async def resolve_alert(self, alert_id: int, by: int) -> dict[str, Any]:
        alerts = await asyncio.to_thread(store.alerts, self.db)
        found = next((a for a in alerts if a["id"] == alert_id), None)
        if found is None:
            raise Refused("unknown_alert", "No such alert.")
        if found["kind"] == SHORTFALL and found["resolved_ms"] is None:
            # Checked again at once (the alert still open, so this check adds none): still
            # short means it stays open and withdrawals stay halted.
            if (await self.reserves())["shortfall"]:
                raise Refused("reserves_still_short", "Reserves are still short; "
                               "withdrawals stay halted.")
        await asyncio.to_thread(store.resolve_alert, self.db, alert_id, by, self.svc.clock())
        return {"resolved": alert_id,
                "withdrawals_halted": await asyncio.to_thread(self.halted)}


def _withdrawal_view(w: dict[str, Any]) -> dict[str, Any]:
    return {"id": w["id"], "account_id": w["account_id"], "request_id": w["request_id"],
            "address": w["to_address"], "amount": format_micro(w["amount_micro"]),
            "status": w["status"], "needs_approval": w["needs_approval"],
            "approved_by": w["approved_by"], "tx_hash": w.get("tx_hash"), "note": w["note"],
            "created_ms": w["created_ms"], "updated_ms": w["updated_ms"]}


def _crash() -> None:
    log.warning("%s is set: killing the server after signing, before broadcasting", CRASH_ENV)
    os.kill(os.getpid(), signal.SIGKILL)


async def start(svc: Services, state: Any) -> list[asyncio.Task[None]]:
    """Start real USDC when configured (called by the app's lifespan with `app.state`, where
    the routes find it); no tasks otherwise."""
    cfg = svc.settings.chain
    state.funding = None
    if cfg is None:
        return []
    funding = Funding(svc, cfg)
    if svc.node.clustered:  # every gateway serves the verbs; one runs the cycle
        await asyncio.to_thread(funding._check_chain)
        state.funding = funding
        return [svc.node.singleton("chain", funding.lead)]
    await funding.start()
    state.funding = funding
    log.info("real USDC on chain %d: token %s, hot wallet %s, %d confirmations",
             cfg.chain_id, cfg.token, funding.wallet.address, cfg.confirmations)
    return [asyncio.create_task(funding.run())]


def funding_of(state: Any) -> Funding:
    found: Funding | None = getattr(state, "funding", None)
    if found is None:
        raise Refused("funding_disabled", "Real USDC is not enabled on this exchange.")
    return found
