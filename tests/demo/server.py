"""A real `foretell serve` process with the demo on, for the demo's end-to-end tests.

The server is started exactly as `make run` starts it (`python -m foretell.cli serve`, settings
from the environment: the demo and its market maker are on unless the caller turns them off),
on a free loopback port and a data directory of the test's own.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import httpx
from tests import live
from tests.live import Server, free_port

DEMO_PASSWORD = "foretell-demo"
README_LOGINS = ("ops", "lena-hartmann", "ada-quant", "bruno-macro", "chen-swing")


def launch(data: Path, **env: str) -> Server:
    """Start `foretell serve` on `data` (don't wait); `env` adds FORETELL_* variables."""
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if k != "FORETELL_DEMO_CRASH_AFTER_STEP"}
    environ = {**inherited, "FORETELL_DATA": str(data), "FORETELL_PORT": str(port),
               "FORETELL_HOST": "127.0.0.1", "FORETELL_RATE_PER_S": "100000",
               "FORETELL_RATE_BURST": "100000", "PYTHONUNBUFFERED": "1", **env}
    return live.launch([sys.executable, "-m", "foretell.cli", "serve"], data, port, environ,
                       log_name="serve")


def wait_ready(server: Server, timeout_s: float = 120) -> Server:
    return live.wait_ready(server, timeout_s)


def stop(server: Server) -> None:
    live.stop(server)


def login(base_url: str, username: str, password: str = DEMO_PASSWORD) -> httpx.Client:
    """A client with a cookie session (and its CSRF token) for `username`."""
    client = httpx.Client(base_url=base_url + "/api/v1", timeout=30)
    r = client.post("/auth/login", json={"username": username, "password": password})
    if r.status_code != 200:
        client.close()
        raise AssertionError(f"login {username}: {r.status_code} {r.text}")
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return client


def get(client: httpx.Client, path: str, **params: Any) -> Any:
    r = client.get(path, params=params)
    assert r.status_code == 200, (path, r.status_code, r.text)
    return r.json()
