"""A real local EVM node (Ganache from npm) with the test USDC and the deposit factory compiled
from `contracts/` (solc from npm) and deployed, and a Foretell server with real USDC on.

Skipped with the reason when node or the npm packages are missing (`npm ci` installs them;
`make test` does). Blocks are mined by the tests (`evm_mine`), so a test decides exactly how
many confirmations a deposit has.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account

from foretell.chain.devnet import (
    Deployment,
    Devnet,
    compile_contracts,
    deploy_all,
    free_port,
    missing_tools,
    start_ganache,
)
from foretell.client import Client
from foretell.domain.units import MICRO

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CONFIRMATIONS = 3
SUPERVISOR = ("root", "root-password-1")
PASSWORD = "trader-password-1"
USDC = MICRO


def _key() -> str:
    k = Account.create().key.hex()
    return k if k.startswith("0x") else "0x" + k


@pytest.fixture(scope="session")
def artifacts() -> dict[str, dict[str, Any]]:
    why = missing_tools()
    if why is not None:
        pytest.skip(f"no local EVM chain: {why}")
    return compile_contracts()


@dataclass
class Chain:
    """A Ganache node with the contracts deployed, and wallets: the deployer (token owner),
    the exchange's hot wallet, and outside users with test USDC and ETH."""

    net: Devnet
    artifacts: dict[str, dict[str, Any]]
    deployer: str
    hot: str
    users: list[str]
    d: Deployment
    proc: subprocess.Popen[bytes]

    @property
    def hot_address(self) -> str:
        return str(Account.from_key(self.hot).address)

    def address(self, key: str) -> str:
        return str(Account.from_key(key).address)

    def token(self, key: str, fn: str, *args: Any) -> dict[str, Any]:
        return self.net.call(key, self.d.token, self.artifacts["TestUSDC"], fn, *args)

    def pay(self, user: int, to: str, amount_micro: int) -> dict[str, Any]:
        receipt = self.token(self.users[user], "transfer", to, amount_micro)
        assert receipt["status"] == 1
        return receipt

    def balance(self, address: str) -> int:
        c = self.net.w3.eth.contract(address=self.d.token, abi=self.artifacts["TestUSDC"]["abi"])
        return int(c.functions.balanceOf(address).call())

    def env(self, confirmations: int = CONFIRMATIONS) -> dict[str, str]:
        return {"FORETELL_CHAIN_RPC_URL": self.net.rpc_url, "FORETELL_CHAIN_ID": "1337",
                "FORETELL_CHAIN_TOKEN": self.d.token, "FORETELL_CHAIN_FACTORY": self.d.factory,
                "FORETELL_CHAIN_CONFIRMATIONS": str(confirmations),
                "FORETELL_CHAIN_HOT_KEY": self.hot, "FORETELL_CHAIN_POLL_S": "0.1",
                "FORETELL_CHAIN_APPROVAL_ABOVE_USDC": "5000",
                "FORETELL_CHAIN_WITHDRAWAL_DAILY_MAX_USDC": "20000",
                "FORETELL_CHAIN_START_BLOCK": "0"}

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def make_chain(artifacts: dict[str, dict[str, Any]], tmp: Path, users: int = 3) -> Chain:
    deployer, hot = _key(), _key()
    user_keys = [_key() for _ in range(users)]
    port = free_port()
    proc = start_ganache(port, [deployer, hot, *user_keys], log=tmp / f"ganache-{port}.log")
    net = Devnet(f"http://127.0.0.1:{port}")
    d = deploy_all(net, artifacts, deployer, str(Account.from_key(hot).address))
    chain = Chain(net, artifacts, deployer, hot, user_keys, d, proc)
    for key in user_keys:
        chain.token(deployer, "mint", chain.address(key), 1_000_000 * USDC)
    return chain


@dataclass
class Server:
    base_url: str
    data: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path
    clients: list[Client] = field(default_factory=list)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def admin(self) -> Client:
        c = Client(self.base_url)
        c.login(*SUPERVISOR)
        self.clients.append(c)
        return c

    def trader(self) -> tuple[Client, int]:
        c = Client(self.base_url)
        account_id = int(c.signup(f"t{uuid.uuid4().hex[:10]}", PASSWORD)["user"]["id"])
        self.clients.append(c)
        return c, account_id


def launch(data: Path, env: dict[str, str]) -> Server:
    port = free_port()
    data.parent.mkdir(parents=True, exist_ok=True)
    log_path = data.parent / f"server-{port}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, str(HERE / "serve_chain.py"), str(data), str(port)],
            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ, **env})
    server = Server(f"http://127.0.0.1:{port}", data, env, process, log_path)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(server.base_url + "/api/v1/time", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop(server)
            raise RuntimeError("the server did not start:\n" + server.log())
        time.sleep(0.05)


def stop(server: Server) -> None:
    for c in server.clients:
        c.close()
    server.clients.clear()
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(10)


@pytest.fixture(scope="module")
def chain(artifacts: dict[str, dict[str, Any]],
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    c = make_chain(artifacts, tmp_path_factory.mktemp("chain"))
    yield c
    c.close()


@pytest.fixture(scope="module")
def server(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = launch(tmp_path_factory.mktemp("exchange") / "data", chain.env())
    yield srv
    stop(srv)


def wait_for(predicate: Callable[[], Any], timeout_s: float = 60.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what or predicate}")
        time.sleep(0.05)


def settle(seconds: float = 0.6) -> None:
    """Let the server's chain loop (every 0.1 s) run a few passes."""
    time.sleep(seconds)
