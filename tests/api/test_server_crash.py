"""Kill the server with SIGKILL while bots place and cancel orders through the SDK, restart it,
and check that every acknowledged order is there, that the book and balances equal a replay of
the journal, and that `foretell audit` is clean."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from tests.api.conftest import Exchange, Server, launch_server, stop_server, wait_ready

from foretell.client import Client, ForetellError
from foretell.domain.events import OrderAccepted
from foretell.engine import views
from foretell.exchange.recovery import recover

ROUNDS = 3
BOTS = 4


def _bot(base_url: str, key: dict[str, Any], contract: int, seed: int, acked: list[int],
         stop: threading.Event) -> None:
    rng = random.Random(seed)
    client = Client(base_url, key["key_id"], key["secret"], retries=0, timeout_s=5)
    mine: list[int] = []
    try:
        while not stop.is_set():
            try:
                if mine and rng.random() < 0.3:
                    client.cancel_order(mine.pop(rng.randrange(len(mine))))
                    continue
                cents = rng.randrange(30, 71)
                order = client.place_order(contract_id=contract, outcome="yes",
                                           side="buy" if rng.random() < 0.5 else "sell",
                                           price=f"0.{cents}", size=rng.randrange(1, 5))
                acked.append(order["id"])
                if order["status"] == "open":
                    mine.append(order["id"])
            except ForetellError as exc:
                if exc.status == 0:  # the server is gone: stop quietly
                    return
    finally:
        client.close()


@pytest.mark.slow
def test_sigkill_under_sdk_load_loses_nothing_acknowledged(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server: Server = wait_ready(launch_server(data))
    ex = Exchange(server)
    market = ex.market()
    contract = market["contract_ids"][0]
    bots = []
    for _ in range(BOTS):
        t = ex.trader(usdc="100000")
        # every bot holds YES so that its sells can rest too
        t.api.place_order(contract_id=contract, outcome="yes", side="buy", price="0.50", size=200)
        bots.append(t)
    seller = ex.trader(usdc="100000")
    seller.api.place_order(contract_id=contract, outcome="no", side="buy", price="0.50",
                           size=200 * BOTS)
    keys = [b.key for b in bots]
    ex.close()
    all_acked: list[int] = []
    for round_no in range(ROUNDS):
        acked: list[int] = []
        stop = threading.Event()
        threads = [threading.Thread(target=_bot, args=(server.base_url, keys[i], contract,
                                                       round_no * 100 + i, acked, stop))
                   for i in range(BOTS)]
        for t in threads:
            t.start()
        time.sleep(random.Random(round_no).uniform(1.0, 2.5))
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(10)
        stop.set()
        for t in threads:
            t.join(10)
        assert len(acked) > 5, f"round {round_no}: too little load ({len(acked)} acks)"
        all_acked += acked
        server = wait_ready(launch_server(data))
        _check(server, data, all_acked)
    stop_server(server)
    audit = subprocess.run([sys.executable, "-m", "foretell.cli", "audit", "--data", str(data),
                            "--json"], capture_output=True, text=True, timeout=120)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert json.loads(audit.stdout.strip().splitlines()[-1])["violations"] == []


def _check(server: Server, data: Path, acked: list[int]) -> None:
    admin = Client(server.base_url)
    admin.login("root", "root-password-1")
    try:
        accepted: set[int] = set()

        def collect(seq: int, command: Any, code: str, value: Any, events: list[Any]) -> None:
            accepted.update(e.order for e in events if isinstance(e, OrderAccepted))

        # A full replay (no snapshot: project_after=0) yields every accepted order's event.
        replayed, _ = recover(data / "journal", project_after=0, on_replay=collect)
        missing = [i for i in acked if i not in accepted]
        assert not missing, f"acknowledged orders missing after the crash: {missing[:10]}"
        for contract_id in replayed.contracts:
            bids, asks = views.book_depth(replayed, contract_id)
            book = admin.book(contract_id, depth=1_000)
            assert [[_micro(p), s] for p, s in book["bids"]] == [[p, s] for p, s in bids]
            assert [[_micro(p), s] for p, s in book["asks"]] == [[p, s] for p, s in asks]
        for account in admin.admin_accounts()["accounts"]:
            a = replayed.accounts.get(account["id"])
            free = a.free if a is not None else 0
            assert _micro(account["free"]) == free, account
        assert admin.admin_audit()["ok"]
    finally:
        admin.close()


def _micro(text: str) -> int:
    whole, _, frac = text.partition(".")
    return int(whole) * 1_000_000 + int(frac.ljust(6, "0"))
