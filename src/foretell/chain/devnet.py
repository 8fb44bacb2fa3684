"""A local chain for tests and the README walk-through: compile `contracts/` with solc from npm
(`node_modules/solc`), start a Ganache node from npm on loopback, deploy the test USDC and the
deposit factory, and send signed transactions.

    python -m foretell.chain.devnet --port 8545   # start a node, deploy, print the settings

Not used by the running exchange, which only needs the addresses in its settings.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_utils.address import to_checksum_address
from web3 import Web3

ROOT = Path(__file__).resolve().parents[3]
CONTRACTS = ROOT / "contracts"
SOLCJS = ROOT / "node_modules" / "solc" / "solc.js"
GANACHE = ROOT / "node_modules" / "ganache" / "dist" / "node" / "cli.js"
ETHER = 10**18


def missing_tools() -> str | None:
    """Why a local chain cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed"
    for path in (SOLCJS, GANACHE):
        if not path.is_file():
            return f"{path.relative_to(ROOT)} is missing: run `npm ci` (package.json)"
    return None


def compile_contracts() -> dict[str, dict[str, Any]]:
    """name -> {"abi", "bytecode"} for every contract in contracts/*.sol (solc from npm)."""
    sources = {p.name: {"content": p.read_text()} for p in sorted(CONTRACTS.glob("*.sol"))}
    request = {"language": "Solidity", "sources": sources, "settings": {
        "optimizer": {"enabled": True, "runs": 200}, "evmVersion": "paris",
        "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}}}}
    done = subprocess.run(["node", str(SOLCJS), "--standard-json"], input=json.dumps(request),
                          capture_output=True, text=True, check=True, timeout=300)
    output = json.loads(done.stdout[done.stdout.index("{"):])
    errors = [e["formattedMessage"] for e in output.get("errors", [])
              if e["severity"] == "error"]
    if errors:
        raise RuntimeError("solc: " + "\n".join(errors))
    return {name: {"abi": c["abi"], "bytecode": "0x" + c["evm"]["bytecode"]["object"]}
            for file in output["contracts"].values() for name, c in file.items()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_ganache(port: int, funded_keys: list[str], chain_id: int = 1337,
                  log: Path | None = None) -> subprocess.Popen[bytes]:
    """A Ganache node on 127.0.0.1:port, mining each transaction at once (blocks are also
    mined on demand with `evm_mine`), each key funded with 1000 ETH."""
    accounts = [f"--wallet.accounts={k},{1000 * ETHER}" for k in funded_keys]
    with (log.open("ab") if log else open(os.devnull, "wb")) as out:
        proc = subprocess.Popen(
            ["node", str(GANACHE), "--server.host=127.0.0.1", f"--server.port={port}",
             f"--chain.chainId={chain_id}", "--logging.quiet",
             "--chain.vmErrorsOnRPCResponse=false", *accounts],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "NODE_NO_WARNINGS": "1"})
    w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}", request_kwargs={"timeout": 5}))
    deadline = time.monotonic() + 60
    while True:
        try:
            if w3.eth.block_number >= 0:
                return proc
        except Exception:  # noqa: BLE001 - not listening yet
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("ganache did not start") from None
            time.sleep(0.1)


@dataclass
class Devnet:
    """A JSON-RPC endpoint and helpers to send signed transactions to it."""

    rpc_url: str

    def __post_init__(self) -> None:
        self.w3 = Web3(Web3.HTTPProvider(self.rpc_url, request_kwargs={"timeout": 30}))

    def rpc(self, method: str, *params: Any) -> Any:
        return self.w3.provider.make_request(method, list(params))["result"]  # type: ignore[arg-type]

    def mine(self, blocks: int = 1) -> None:
        for _ in range(blocks):
            self.rpc("evm_mine")

    def head(self) -> int:
        return int(self.w3.eth.block_number)

    def send(self, key: str, to: str | None, data: bytes = b"", value: int = 0,
             gas: int = 3_000_000) -> dict[str, Any]:
        """Sign with `key`, send, wait for the receipt (the node mines it at once)."""
        sender = Account.from_key(key)
        tx: dict[str, Any] = {"nonce": self.w3.eth.get_transaction_count(sender.address, "pending"),
                              "gasPrice": self.w3.eth.gas_price, "gas": gas, "value": value,
                              "data": data, "chainId": self.w3.eth.chain_id}
        if to is not None:
            tx["to"] = to_checksum_address(to)
        signed = sender.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        return dict(self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30))

    def deploy(self, key: str, artifact: dict[str, Any], *args: Any) -> str:
        contract = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        data = contract.constructor(*args).build_transaction(
            {"gas": 5_000_000, "gasPrice": 0, "nonce": 0, "chainId": 1})["data"]
        receipt = self.send(key, None, bytes.fromhex(data[2:]))
        assert receipt["status"] == 1, receipt
        return to_checksum_address(receipt["contractAddress"])

    def call(self, key: str, address: str, artifact: dict[str, Any], fn: str,
             *args: Any) -> dict[str, Any]:
        contract = self.w3.eth.contract(address=to_checksum_address(address),
                                        abi=artifact["abi"])
        data = getattr(contract.functions, fn)(*args).build_transaction(
            {"gas": 1_000_000, "gasPrice": 0, "nonce": 0, "chainId": 1})["data"]
        return self.send(key, address, bytes.fromhex(data[2:]))


@dataclass
class Deployment:
    token: str
    factory: str


def deploy_all(net: Devnet, artifacts: dict[str, dict[str, Any]], deployer_key: str,
               hot_address: str) -> Deployment:
    token = net.deploy(deployer_key, artifacts["TestUSDC"])
    factory = net.deploy(deployer_key, artifacts["DepositFactory"], token, hot_address)
    return Deployment(token, factory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8545)
    parser.add_argument("--confirmations", type=int, default=3)
    args = parser.parse_args()
    if (why := missing_tools()) is not None:
        raise SystemExit(why)
    deployer, hot, trader = (Account.create() for _ in range(3))
    keys = [a.key.hex() for a in (deployer, hot, trader)]
    keys = [k if k.startswith("0x") else "0x" + k for k in keys]
    proc = start_ganache(args.port, keys)
    net = Devnet(f"http://127.0.0.1:{args.port}")
    artifacts = compile_contracts()
    d = deploy_all(net, artifacts, keys[0], hot.address)
    net.call(keys[0], d.token, artifacts["TestUSDC"], "mint", trader.address, 1_000_000 * 10**6)
    print(f"# ganache pid {proc.pid} on 127.0.0.1:{args.port}; Ctrl-C stops it")
    print(f"export FORETELL_CHAIN_RPC_URL=http://127.0.0.1:{args.port}")
    print("export FORETELL_CHAIN_ID=1337")
    print(f"export FORETELL_CHAIN_TOKEN={d.token}")
    print(f"export FORETELL_CHAIN_FACTORY={d.factory}")
    print(f"export FORETELL_CHAIN_CONFIRMATIONS={args.confirmations}")
    print(f"export FORETELL_CHAIN_HOT_KEY={keys[1]}  # the hot wallet {hot.address}")
    print(f"# a trader wallet with 1,000,000 test USDC: {trader.address} key {keys[2]}")
    print(f"# deployer (mints, mines): key {keys[0]}")
    try:
        proc.wait()
    except KeyboardInterrupt:
        proc.terminate()


if __name__ == "__main__":
    main()
