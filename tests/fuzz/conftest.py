"""A live server on loopback with the demo loaded (market maker off), shared by this folder."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from tests.live import free_port

from foretell.app import create_app, server_options
from foretell.config import Settings


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data: Path = tmp_path_factory.mktemp("fuzz")
    settings_ = Settings(data=data, demo=True, market_maker=False, rate_per_s=10_000,
                         rate_burst=10_000)
    port = free_port()
    config = uvicorn.Config(create_app(settings_), host="127.0.0.1", port=port,
                            log_level="error", lifespan="on", **server_options(settings_))
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/api/v1/time", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    r = httpx.post(base + "/api/v1/auth/signup", json={"username": "fuzzer",
                                                       "password": "fuzzer-password"})
    assert r.status_code == 201, r.text
    yield {"base": base, "cookie": r.cookies["foretell_session"],
           "csrf": r.json()["csrf_token"], "app": config.app}
    srv.should_exit = True
    thread.join(30)


