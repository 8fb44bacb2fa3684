"""One way to run a real Foretell server process for the suites that need one: a free loopback
port, a process with its output in a log file, waiting until it answers, stopping it.

The suites differ only in how they start it (`tests/api/serve_child.py` with a supervisor made
beforehand, `foretell serve` as `make run` does, a server with the chain on) and pass that
command line here."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    base_url: str
    data: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def launch(argv: list[str], data: Path, port: int, env: dict[str, str] | None = None,
           log_name: str = "server") -> Server:
    """Start `argv` (a server on `port`) with its output in a log beside `data`; don't wait."""
    data.parent.mkdir(parents=True, exist_ok=True)
    log_path = data.parent / f"{log_name}-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                   env=env if env is not None else dict(os.environ))
    return Server(f"http://127.0.0.1:{port}", data, process, log_path)


def wait_ready(server: Server, timeout_s: float = 60) -> Server:
    """Wait until the server answers /api/v1/time; stop it and fail with its log if not."""
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


def stop(server: Server) -> None:
    """SIGTERM (a clean shutdown), SIGKILL if it is not gone within 15 s."""
    if server.process.poll() is None:
        server.process.terminate()
    try:
        server.process.wait(15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(10)
