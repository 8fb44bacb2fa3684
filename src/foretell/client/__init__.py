"""Foretell Python SDK: REST clients (sync and async), the WebSocket stream and a local book.

    from foretell.client import Client
    ft = Client("http://127.0.0.1:8000", key_id="ft_...", secret="...")
    ft.place_order(market_id=1, outcome="yes", side="buy", price="0.57", size=10)

Prices and amounts are decimal strings on the wire; the SDK takes strings or ints of micro-USDC
(never floats). Every refusal raises `ForetellError(status, code, message, details)`.
"""

from foretell.client.aio import AsyncClient
from foretell.client.book import LocalBook, checksum
from foretell.client.endpoints import (
    DraftFields,
    MarketFields,
    OrderFields,
    TriggerFields,
    new_client_order_id,
    order_body,
)
from foretell.client.errors import ConnectionFailed, ForetellError
from foretell.client.signing import Signer, sign
from foretell.client.stream import Stream
from foretell.client.sync import Client
from foretell.client.units import MICRO, Price, format_micro, format_price, to_micro, to_wire

__all__ = [
    "MICRO", "AsyncClient", "Client", "ConnectionFailed", "DraftFields", "ForetellError",
    "LocalBook",
    "MarketFields", "OrderFields", "Price", "Signer", "Stream", "TriggerFields", "checksum",
    "format_micro", "format_price", "new_client_order_id", "order_body", "sign", "to_micro",
    "to_wire",
]
