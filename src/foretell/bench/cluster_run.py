"""A whole cluster as real processes, for the cluster tests and `bench cluster`: NATS
servers (three in a JetStream cluster on loopback, or the shared one at 127.0.0.1:4222 with
names unique to the run), a fresh PostgreSQL database, engine replicas, gateways, a projector.

Every process writes its log beside the run's data; `kill` is SIGKILL, `restart` starts the
same role again with the same arguments.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent.parent.parent  # the checkout (src/foretell/bench)
PG_URL = os.environ.get("FORETELL_TEST_PG_URL")
NATS_SERVER = shutil.which("nats-server")
SHARED_NATS_PORT = 4222  # the machine's own NATS server with JetStream (R1 runs share it)
SHARED_NATS_HINT = (f"no NATS server with JetStream on 127.0.0.1:{SHARED_NATS_PORT}: `apt-get "
                    "install nats-server` and run `nats-server -js` (or `make nats`)")
INSTALL_HINT = ("nats-server is not installed: `apt-get install nats-server` (Debian/Ubuntu) "
                "or download it from https://github.com/nats-io/nats-server/releases")
SUPERVISOR = ("root", "root-password-1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    name: str
    argv: list[str]
    log_path: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    base_url: str = ""

    def start(self) -> Proc:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                            cwd=ROOT, env=self.env)
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class Run:
    """One cluster run: its directory, NATS, database, processes."""

    base: Path
    replicas: int = 1  # 3: three NATS servers of its own, streams at R3
    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:10]}")
    nats: list[Proc] = field(default_factory=list)
    nats_urls: list[str] = field(default_factory=list)
    procs: dict[str, Proc] = field(default_factory=dict)
    db_name: str = field(default_factory=lambda: f"fc_{uuid.uuid4().hex[:12]}")
    database_url: str = ""
    admin_url: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)  # for every process (FORETELL_CHAIN_*)

    # -- infrastructure -----------------------------------------------------------------------

    def start_nats(self, own: bool = False) -> None:
        """Three servers of this run's own (R3), one of its own (R1, `own`), or the shared
        one at 127.0.0.1:4222 (R1)."""
        if self.replicas == 1 and not own:
            self.nats_urls = [f"nats://127.0.0.1:{SHARED_NATS_PORT}"]
            return
        assert NATS_SERVER is not None
        ports = [(free_port(), free_port()) for _ in range(3 if self.replicas == 3 else 1)]
        routes = ",".join(f"nats://127.0.0.1:{c}" for _, c in ports)
        for i, (port, cport) in enumerate(ports):
            store = self.base / f"nats{i}"
            store.mkdir(parents=True, exist_ok=True)
            proc = Proc(f"nats{i}", [NATS_SERVER, "-js", "-sd", str(store), "-a", "127.0.0.1",
                                     "-p", str(port), "-n", f"n{i}",
                                     *(["--cluster_name", "fc", "--cluster",
                                        f"nats://127.0.0.1:{cport}", "--routes", routes]
                                       if len(ports) > 1 else [])],
                         self.base / f"nats{i}.log", dict(os.environ))
            self.nats.append(proc.start())
        self.nats_urls = [f"nats://127.0.0.1:{p}" for p, _ in ports]
        for url in self.nats_urls:
            wait_port(int(url.rsplit(":", 1)[1]))

    def create_database(self, admin_url: str | None = None) -> None:
        """A fresh database beside `admin_url`'s (default FORETELL_TEST_PG_URL)."""
        import psycopg

        self.admin_url = admin_url or PG_URL or ""
        assert self.admin_url, "no PostgreSQL URL"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        base = self.admin_url.rsplit("/", 1)[0]
        self.database_url = f"{base}/{self.db_name}"
        from foretell.store.db import migrate

        migrate(self.database_url)  # once, before any process (concurrent migrations collide)

    def drop_database(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"FORETELL_NATS_URL": ",".join(self.nats_urls),
                    "FORETELL_CLUSTER_PREFIX": self.prefix,
                    "FORETELL_CLUSTER_REPLICAS": str(self.replicas),
                    "FORETELL_DATABASE_URL": self.database_url,
                    "FORETELL_DATA": str(self.base / "gateway-data"),
                    "FORETELL_SNAPSHOT_EVERY": env.get("FORETELL_SNAPSHOT_EVERY", "200"),
                    "FORETELL_RATE_PER_S": "100000", "FORETELL_RATE_BURST": "100000",
                    "PYTHONPATH": str(ROOT / "src")})
        env.update(self.extra_env)
        return env

    def cluster_settings(self) -> Any:
        from foretell.cluster.streams import ClusterSettings

        return ClusterSettings(servers=tuple(self.nats_urls), prefix=self.prefix,
                               replicas=self.replicas)

    # -- roles --------------------------------------------------------------------------------

    def _proc(self, name: str, args: list[str], port: int = 0) -> Proc:
        argv = [sys.executable, "-m", "foretell.cli", "cluster", *args]
        proc = Proc(name, argv, self.base / f"{name}.log", self.env())
        if port:
            proc.base_url = f"http://127.0.0.1:{port}"
        self.procs[name] = proc
        return proc.start()

    def start_projector(self) -> Proc:
        return self._proc("projector", ["projector"])

    def start_engine(self, replica_id: str) -> Proc:
        return self._proc(f"engine-{replica_id}", ["engine", "--id", replica_id])

    def start_gateway(self, name: str, *args: str) -> Proc:
        """A gateway on a free port; `args`: more options (`--demo`)."""
        port = free_port()
        return self._proc(name, ["gateway", "--port", str(port), *args], port)

    def restart(self, name: str) -> Proc:
        proc = self.procs[name]
        proc.kill()
        return proc.start()

    def make_supervisor(self) -> None:
        """As `foretell admin create-supervisor` does, on the store the gateways share."""
        from foretell.cluster.gateway import GatewayNode
        from foretell.config import Settings
        from foretell.services import Services

        settings = Settings(data=self.base / "gateway-data", database_url=self.database_url,
                            demo=False, market_maker=False)
        node = GatewayNode(settings, self.cluster_settings())
        svc = Services(settings, node=node)
        try:
            svc.accounts.create_user(*SUPERVISOR, role="supervisor")
        finally:
            node.close()

    def start_all(self, own_nats: bool = False, database_url: str | None = None) -> None:
        """NATS, a fresh database, a supervisor, the projector, replicas a and b and gateways
        g1 and g2, each answering before this returns."""
        self.start_nats(own=own_nats)
        self.create_database(database_url)
        self.make_supervisor()
        self.start_projector()
        self.start_engine("a")
        self.start_engine("b")
        for name in ("g1", "g2"):
            self.start_gateway(name)
        for name in ("g1", "g2"):
            wait_http(self.procs[name])

    def close(self) -> None:
        for proc in self.procs.values():
            proc.kill()
        for proc in self.nats:
            proc.kill()
        if not self.nats and self.nats_urls:  # the shared server: delete this run's names
            from foretell.cluster.streams import destroy

            try:
                asyncio.run(destroy(self.cluster_settings()))
            except Exception as exc:  # noqa: BLE001 - cleanup must go on
                print("cleaning up the streams failed:", exc)
        if self.database_url:
            self.drop_database()

    def logs(self) -> str:
        return "\n".join(f"===== {p.name}\n{p.log()[-4000:]}" for p in
                         [*self.procs.values(), *self.nats])


def shared_nats_up() -> bool:
    """Whether the shared NATS server listens (tests on it skip with SHARED_NATS_HINT)."""
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", SHARED_NATS_PORT)) == 0


def wait_port(port: int, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def wait_http(proc: Proc, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(proc.base_url + "/api/v1/time", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if not proc.alive() or time.monotonic() > deadline:
            raise RuntimeError(f"{proc.name} did not start:\n{proc.log()}")
        time.sleep(0.1)


def health(proc: Proc) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(proc.base_url + "/api/v1/health", timeout=5).json()
    return answer
