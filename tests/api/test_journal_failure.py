"""A failed journal stops the exchange taking commands, visibly: 503 `unavailable` over REST
and an error reply over WebSocket (the socket stays open), never a 500 or a dropped socket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from foretell.app import create_app
from foretell.config import Settings
from foretell.domain import commands as cmd
from foretell.services import Services

ORDER = {"contract_id": 1, "outcome": "yes", "side": "buy", "price": "0.40", "size": 2}


@pytest.fixture
def exchange(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = Settings(data=tmp_path, demo=False, market_maker=False)
    boot = Services(settings)
    trader = boot.accounts.create_user("tess", "password-1", "trader")
    boot.pipeline.execute(cmd.Deposit(0, trader, 1_000 * 10**6, "funding"))
    boot.pipeline.execute(cmd.CreateMarket(0, 1, meta=json.dumps(
        {"slug": "disk", "question": "Will the disk hold?"})))
    boot.close()
    with TestClient(create_app(settings)) as client:
        r = client.post("/api/v1/auth/login", json={"username": "tess", "password": "password-1"})
        assert r.status_code == 200, r.text
        yield client, {"X-CSRF-Token": r.json()["csrf_token"]}


def _break_the_disk(svc: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    def write_batch(batch: Any) -> int:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(svc.pipeline.journal, "write_batch", write_batch)


def test_rest_orders_get_503_once_the_journal_fails(
        exchange: tuple[TestClient, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    client, csrf = exchange
    assert client.post("/api/v1/orders", json=ORDER, headers=csrf).status_code == 201
    svc: Services = client.app.state.service  # type: ignore[attr-defined]
    _break_the_disk(svc, monkeypatch)
    # The order in flight when the write fails: applied in memory, never durable.
    r = client.post("/api/v1/orders", json=ORDER, headers=csrf)
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "unavailable"
    assert "client_order_id" in r.json()["error"]["message"]
    seq = svc.pipeline.seq
    # Every later one is refused before the journal or the engine sees it.
    r = client.post("/api/v1/orders", json=ORDER, headers=csrf)
    assert (r.status_code, r.json()["error"]["code"]) == (503, "unavailable")
    r = client.post("/api/v1/orders/batch", json={"orders": [ORDER, ORDER]}, headers=csrf)
    assert r.status_code == 200, r.text  # each item answered on its own
    assert [x["error"]["code"] for x in r.json()["results"]] == ["unavailable"] * 2
    assert svc.pipeline.seq == seq
    assert client.get("/api/v1/health").json()["status"] == "failed"


def test_ws_orders_get_an_error_reply_and_the_socket_stays(
        exchange: tuple[TestClient, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    client, _ = exchange
    svc: Services = client.app.state.service  # type: ignore[attr-defined]
    # A browser's socket: same origin, so the session cookie logs it in (issue 11, item 5).
    with client.websocket_connect("/api/v1/ws", headers={"origin": "http://testserver"}) as ws:
        ws.send_json({"op": "place_order", "id": 1, "order": ORDER})
        assert ws.receive_json()["type"] == "ack"
        _break_the_disk(svc, monkeypatch)
        ws.send_json({"op": "place_order", "id": 2, "order": ORDER})
        failed = ws.receive_json()
        assert (failed["type"], failed["id"], failed["error"]["code"]) == (
            "error", 2, "unavailable")
        ws.send_json({"op": "place_order", "id": 3, "order": ORDER})
        refused = ws.receive_json()
        assert (refused["type"], refused["id"], refused["error"]["code"]) == (
            "error", 3, "unavailable")
        ws.send_json({"op": "ping", "id": 4})
        assert ws.receive_json()["type"] == "pong"
