"""The chain through JSON-RPC: token balances, Transfer logs, blocks, raw transactions.

Everything here blocks on the network: call it from a worker thread (`asyncio.to_thread`),
never from the event loop. Amounts are token units as Python ints; with USDC's 6 decimals one
unit is one micro-USDC (`ChainSettings` refuses any other token decimals).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3
from web3.exceptions import TransactionNotFound

TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
_TRANSFER_SELECTOR = keccak(text="transfer(address,uint256)")[:4]
_SWEEP_SELECTOR = keccak(text="sweep(uint256)")[:4]

ERC20_ABI: list[dict[str, Any]] = [
    {"type": "function", "name": "balanceOf", "stateMutability": "view",
     "inputs": [{"name": "who", "type": "address"}],
     "outputs": [{"name": "", "type": "uint256"}]},
    {"type": "function", "name": "decimals", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "uint8"}]},
]
FACTORY_ABI: list[dict[str, Any]] = [
    {"type": "function", "name": "initCodeHash", "stateMutability": "pure", "inputs": [],
     "outputs": [{"name": "", "type": "bytes32"}]},
    {"type": "function", "name": "addressOf", "stateMutability": "view",
     "inputs": [{"name": "account", "type": "uint256"}],
     "outputs": [{"name": "", "type": "address"}]},
    {"type": "function", "name": "hotWallet", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "address"}]},
    {"type": "function", "name": "token", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "address"}]},
]


@dataclass(frozen=True, slots=True)
class TransferLog:
    tx_hash: str  # 0x-prefixed, lower case
    log_index: int
    block_number: int
    block_hash: str
    sender: str  # checksummed
    to: str  # checksummed
    amount: int  # token units


@dataclass(frozen=True, slots=True)
class Receipt:
    block_number: int
    block_hash: str
    ok: bool
    gas_used: int
    gas_price_wei: int


def transfer_data(to: str, amount: int) -> bytes:
    """Calldata of ERC-20 `transfer(to, amount)`."""
    return (_TRANSFER_SELECTOR + bytes(12) + bytes.fromhex(to[2:])
            + amount.to_bytes(32, "big"))


def sweep_data(account_id: int) -> bytes:
    return _SWEEP_SELECTOR + account_id.to_bytes(32, "big")


def create2_address(factory: str, salt: int, init_code_hash: bytes) -> str:
    """The address CREATE2 gives `factory` for `salt`: no key involved, only hashing."""
    digest = keccak(b"\xff" + bytes.fromhex(factory[2:]) + salt.to_bytes(32, "big")
                    + init_code_hash)
    return to_checksum_address(digest[12:])


def _hex(value: Any) -> str:
    return str(Web3.to_hex(value)).lower()


class Evm:
    """One JSON-RPC endpoint and one token. Blocking calls."""

    def __init__(self, rpc_url: str, token: str, timeout_s: float = 10.0) -> None:
        self.w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout_s}))
        self.token = to_checksum_address(token)
        self._erc20 = self.w3.eth.contract(address=self.token, abi=ERC20_ABI)

    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    def head(self) -> int:
        return int(self.w3.eth.block_number)

    def block_hash(self, number: int) -> str | None:
        try:
            block = self.w3.eth.get_block(number)
        except Exception:  # noqa: BLE001 - a block past the head after a reorg
            return None
        return _hex(block["hash"])

    def decimals(self) -> int:
        return int(self._erc20.functions.decimals().call())

    def balance(self, who: str, block: int | Literal["latest"] = "latest") -> int:
        return int(self._erc20.functions.balanceOf(to_checksum_address(who)).call(
            block_identifier=block))

    def eth_balance(self, who: str, block: int | Literal["latest"] = "latest") -> int:
        return int(self.w3.eth.get_balance(to_checksum_address(who), block_identifier=block))

    def transfers(self, first: int, last: int) -> list[TransferLog]:
        """Every Transfer log of the token in blocks first..last (the caller matches `to`)."""
        logs = self.w3.eth.get_logs({"fromBlock": first, "toBlock": last,
                                     "address": self.token, "topics": [TRANSFER_TOPIC]})
        out = []
        for log in logs:
            topics = log["topics"]
            if len(topics) != 3 or log.get("removed"):
                continue
            out.append(TransferLog(
                tx_hash=_hex(log["transactionHash"]), log_index=int(log["logIndex"]),
                block_number=int(log["blockNumber"]), block_hash=_hex(log["blockHash"]),
                sender=to_checksum_address(bytes(topics[1])[-20:]),
                to=to_checksum_address(bytes(topics[2])[-20:]),
                amount=int.from_bytes(bytes(log["data"]), "big")))
        return out

    def nonce(self, who: str) -> int:
        return int(self.w3.eth.get_transaction_count(to_checksum_address(who), "pending"))

    def gas_price(self) -> int:
        return int(self.w3.eth.gas_price)

    def send_raw(self, raw: bytes) -> None:
        self.w3.eth.send_raw_transaction(raw)

    def receipt(self, tx_hash: str) -> Receipt | None:
        try:
            r = self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None
        if r is None or r.get("blockNumber") is None:
            return None
        return Receipt(block_number=int(r["blockNumber"]), block_hash=_hex(r["blockHash"]),
                       ok=int(r["status"]) == 1, gas_used=int(r["gasUsed"]),
                       gas_price_wei=int(r.get("effectiveGasPrice") or 0))

    def call_factory(self, factory: str, name: str, *args: Any) -> Any:
        contract = self.w3.eth.contract(address=to_checksum_address(factory), abi=FACTORY_ABI)
        return getattr(contract.functions, name)(*args).call()
