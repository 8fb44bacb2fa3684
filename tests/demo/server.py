"""A real `foretell serve` process with the demo on, for the demo's end-to-end tests.

The server is started exactly as `make run` starts it (`python -m foretell.cli serve`, settings
from the environment: the demo and its market maker are on unless the caller turns them off),
on a free loopback port and a data directory of the test's own.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "foretell-demo"
README_LOGINS = ("ops", "lena-hartmann", "ada-quant", "bruno-macro", "chen-swing")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class DemoServer:
    base_url: str
    data: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def launch(data: Path, **env: str) -> DemoServer:
    """Start `foretell serve` on `data` (don't wait); `env` adds FORETELL_* variables."""
    port = free_port()
    data.parent.mkdir(parents=True, exist_ok=True)
    log_path = data.parent / f"serve-{port}.log"
    inherited = {k: v for k, v in os.environ.items() if k != "FORETELL_DEMO_CRASH_AFTER_STEP"}
    environ = {**inherited, "FORETELL_DATA": str(data), "FORETELL_PORT": str(port),
               "FORETELL_HOST": "127.0.0.1", "FORETELL_RATE_PER_S": "100000",
               "FORETELL_RATE_BURST": "100000", "PYTHONUNBUFFERED": "1", **env}
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "foretell.cli", "serve"], stdout=log,
                                   stderr=subprocess.STDOUT, cwd=ROOT, env=environ)
    return DemoServer(f"http://127.0.0.1:{port}", data, process, log_path)


def wait_ready(server: DemoServer, timeout_s: float = 120) -> DemoServer:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(server.base_url + "/api/v1/time", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if server.process.poll() is not None or time.monotonic() > deadline:
            stop(server)
            raise RuntimeError("the server did not start:\n" + server.log())
        time.sleep(0.05)


def stop(server: DemoServer) -> None:
    if server.process.poll() is None:
        server.process.terminate()
    try:
        server.process.wait(15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(10)


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
