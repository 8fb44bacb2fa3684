"""WebSocket fan-out of durable events, and the durable copy of every book.

Runs on the event loop. The pipeline hands it each durable outcome in seq order. Public channels:
`book:<contract>` (snapshot, then deltas with absolute level sizes and the book seq, heartbeats
with seq and checksum), `trades:<contract>`, `ticker:<contract>`, `market:<market>` (lifecycle).
Private channels, bound to the connection's account: `orders`, `fills`, `positions`, `balance`.

Ticker: every `ticker:<contract>` message carries the whole state, the fields of the contract in
GET /markets (prices YES terms, decimal strings or null):
  {"type": "ticker", "channel", "contract_id", "last", "best_bid", "best_ask", "change",
   "prev_day_price", "volume", "volume_shares", "snapshot", "ts_ms", "seq"}
- `last`: the price of the contract's latest trade (null: never traded).
- `best_bid`, `best_ask`: the top of the hub's durable book (as the book channel and REST).
- `prev_day_price`: the 24 h reference: the close of the last 1-minute bar before the window
  (now - 24 h, floored to the minute), else the open of the first bar inside it, i.e. the first
  trade (null: never traded). `change` = last - prev_day_price (signed, e.g. "-0.05").
- `volume`: dollar volume since the contract opened (USDC string: what the takers paid or
  received, in their own outcome's terms); `volume_shares`: shares traded. Like the list,
  these are lifetime totals, not 24 h ones.
- `seq`: the command that caused the message; `ts_ms`: its time. `snapshot`: true for the first
  message after subscribing and for a change of the reference (then `seq` is the last command
  the hub published, every field reflects it, and `ts_ms` is the server time).
Sent at most once per command per contract, when a trade prints or the top of the book (best
bid or best ask) moves; book changes below the top send nothing.
Freshness: last, volume, volume_shares and the top of book are exact as of `seq` (the hub
starts from the store, read off the loop at startup in one statement with the seq it reflects,
then adds every fill it publishes). prev_day_price is re-read from the store every
`ticker_refresh_s` (edge.py, 60 s), off the loop: as the window slides, the reference can lag
by up to that interval (a message with snapshot=true follows a change); a first trade sets it
at once. The subscribe snapshot is queued before the `subscribed` reply (as a book's). Until
the startup read arrives (moments) the channel sends nothing; then every subscribed channel
gets its snapshot. A contract nobody watches costs a few integer updates per fill and one dict
lookup per book change: no top of book, no message.

Book checksum: CRC-32 of the text "p:s,p:s,...|p:s,..." (bids best first, then asks best first,
YES prices and sizes as decimal micro-USDC integers). An empty book is "|".

A book's checksum and its encoded snapshot are built at most once per book seq and shared by
every subscriber (a subscribe storm costs copies of one payload, not one sort per subscriber).
Connections are indexed by channel, by account and by credential ("k:<key id>" or
"s:<session hash>"), so a revoked key or a logged-out session reaches its live sockets at once
(`revoke`, `account_changed`), which lose their private channels (ws.py).
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from foretell.api.auth import TokenBucket
from foretell.domain import events as ev
from foretell.domain.orders import ACTION_NAMES, NO, OUTCOME_NAMES
from foretell.domain.units import MICRO
from foretell.services import present

_json = msgspec.json.Encoder()
PUBLIC_PREFIXES = ("book:", "trades:", "ticker:", "market:", "news")
PRIVATE_CHANNELS = ("orders", "fills", "positions", "balance")
queue_messages_max = 10_000


@dataclass
class Book:
    seq: int = 0
    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)

    # (seq, value) caches: built once per book seq, dropped by `apply`
    _checksum: tuple[int, int] | None = field(default=None, repr=False, compare=False)
    _payload: tuple[int, bytes] | None = field(default=None, repr=False, compare=False)
    _top: tuple[int, int | None, int | None] | None = field(default=None, repr=False,
                                                            compare=False)

    def apply(self, seq: int, levels: tuple[tuple[int, int, int], ...]) -> None:
        for yes_price, bid, ask in levels:
            for side, size in ((self.bids, bid), (self.asks, ask)):
                if size:
                    side[yes_price] = size
                else:
                    side.pop(yes_price, None)
        self.seq = seq
        self._checksum = self._payload = None

    def sides(self, depth: int = 1_000) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        bids = sorted(self.bids.items(), reverse=True)[:depth]
        asks = sorted(self.asks.items())[:depth]
        return bids, asks

    def top(self) -> tuple[int | None, int | None]:
        """Best bid and best ask (YES micro), or None; computed once per book seq."""
        top = self._top
        if top is None or top[0] != self.seq:
            top = self._top = (self.seq, max(self.bids, default=None),
                               min(self.asks, default=None))
        return top[1], top[2]

    def checksum(self) -> int:
        if self._checksum is not None and self._checksum[0] == self.seq:
            return self._checksum[1]
        bids, asks = self.sides()
        text = ",".join(f"{p}:{s}" for p, s in bids) + "|" + ",".join(f"{p}:{s}" for p, s in asks)
        value = zlib.crc32(text.encode())
        self._checksum = (self.seq, value)
        return value

    def snapshot_payload(self, contract: int) -> bytes:
        """The encoded `snapshot(contract)` at full depth, shared until the book changes."""
        if self._payload is None or self._payload[0] != self.seq:
            self._payload = (self.seq, _json.encode(self.snapshot(contract)))
        return self._payload[1]

    def snapshot(self, contract: int, depth: int = 1_000) -> dict[str, Any]:
        bids, asks = self.sides(depth)
        return {"type": "snapshot", "channel": f"book:{contract}", "contract_id": contract,
                "seq": self.seq, "checksum": self.checksum(),
                "bids": [[present.price(p), s] for p, s in bids],
                "asks": [[present.price(p), s] for p, s in asks]}


class Ticker:
    """One contract's running ticker: last YES price, 24 h reference, dollar and share volume
    (micro-USDC, shares)."""

    __slots__ = ("last", "prev_day", "volume", "volume_shares")

    def __init__(self, last: int | None = None, prev_day: int | None = None, volume: int = 0,
                 volume_shares: int = 0) -> None:
        self.last, self.prev_day = last, prev_day
        self.volume, self.volume_shares = volume, volume_shares

    def trade(self, yes_price: int, size: int, dollars: int) -> None:
        self.last = yes_price
        self.volume += dollars
        self.volume_shares += size
        if self.prev_day is None:  # no bar before: the reference is the window's first trade
            self.prev_day = yes_price


TickerState = tuple[int | None, int | None, int | None, int | None, int, int]


class Connection:
    """One WebSocket client: its subscriptions, its account, its outgoing queue."""

    def __init__(self, account_id: int | None) -> None:
        self.account_id = account_id
        self.credential: str | None = None  # "k:<key id>" or "s:<session hash>"
        self.channels: set[str] = set()
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(queue_messages_max)
        self.dropped = False
        # Called on the loop when the credential is revoked or the account changed (reason).
        self.on_auth_change: Callable[[str], None] | None = None

    def send(self, payload: bytes) -> None:
        try:
            self.queue.put_nowait(payload)
        except asyncio.QueueFull:
            self.dropped = True  # a consumer this slow is disconnected and must resync


class Hub:
    def __init__(self, ip_frames_per_s: float = 100.0, ip_frames_burst: int = 400) -> None:
        self.books: dict[int, Book] = {}
        self.connections: set[Connection] = set()
        self.by_channel: dict[str, set[Connection]] = {}
        self.by_account: dict[int, set[Connection]] = {}
        self.by_credential: dict[str, set[Connection]] = {}
        self.messages_sent = 0
        self.listeners: list[Callable[[Any], None]] = []
        # subscribe frames of anonymous sockets, per client IP (ws.py)
        self.ip_frames = TokenBucket(ip_frames_per_s, ip_frames_burst)
        # tickers (see the module docstring): running state of every contract that traded or
        # that the store knows, the contracts someone watches with the state they were last
        # sent, and the contracts a command changed (contract -> ts_ms), sent after it
        self.seq = 0  # the last outcome published
        self.clock: Callable[[], int] = lambda: 0  # server time in ms (set by edge.serve)
        self.tickers: dict[int, Ticker] = {}
        self.ticker_sent: dict[int, TickerState] = {}
        self._ticker_dirty: dict[int, int] = {}
        # fills published before the startup read arrives: (seq, contract, yes price, size,
        # dollars); None once it has (`load_tickers`)
        self._early_fills: list[tuple[int, int, int, int, int]] | None = []

    # -- connections --------------------------------------------------------------------------

    def connect(self, conn: Connection) -> None:
        self.connections.add(conn)
        self._index(conn)

    def disconnect(self, conn: Connection) -> None:
        self.connections.discard(conn)
        for channel in conn.channels:
            self._leave(channel, conn)
        self._unindex(conn)

    def _leave(self, channel: str, conn: Connection) -> None:
        _discard(self.by_channel, channel, conn)
        if channel.startswith("ticker:") and channel not in self.by_channel:
            self.ticker_sent.pop(int(channel[7:]), None)  # nobody watches it any more

    def bind(self, conn: Connection, account_id: int | None, credential: str | None) -> None:
        """Give a connection its account and credential (None, None: anonymous again); its
        subscriptions stay as they are."""
        self._unindex(conn)
        conn.account_id, conn.credential = account_id, credential
        if conn in self.connections:
            self._index(conn)

    def _index(self, conn: Connection) -> None:
        if conn.account_id is not None:
            self.by_account.setdefault(conn.account_id, set()).add(conn)
        if conn.credential is not None:
            self.by_credential.setdefault(conn.credential, set()).add(conn)

    def _unindex(self, conn: Connection) -> None:
        if conn.account_id is not None:
            _discard(self.by_account, conn.account_id, conn)
        if conn.credential is not None:
            _discard(self.by_credential, conn.credential, conn)

    def revoke(self, credential: str, reason: str) -> None:
        """A key was revoked or a session ended: tell every socket that used it."""
        for conn in list(self.by_credential.get(credential, ())):
            if conn.on_auth_change is not None:
                conn.on_auth_change(reason)

    def account_changed(self, account_id: int, reason: str = "account_changed") -> None:
        """The account's role or standing changed: its sockets check their credential again
        ("account_changed"), or lose their rights at once ("account_suspended")."""
        for conn in list(self.by_account.get(account_id, ())):
            if conn.on_auth_change is not None:
                conn.on_auth_change(reason)

    def subscribe(self, conn: Connection, channel: str) -> bytes | None:
        """Add a channel (canonical name, checked by the caller); returns the first message
        (an encoded book snapshot) where there is one. A ticker channel's snapshot is queued
        on the connection here (once the startup read has arrived)."""
        conn.channels.add(channel)
        self.by_channel.setdefault(channel, set()).add(conn)
        if channel.startswith("book:"):
            contract = int(channel[5:])
            return self.books.setdefault(contract, Book()).snapshot_payload(contract)
        if channel.startswith("ticker:") and self._early_fills is None:
            contract = int(channel[7:])
            state = self._ticker_state(contract)
            self.ticker_sent[contract] = state
            conn.send(_json.encode(self._ticker_message(contract, state, self.clock(),
                                                        self.seq, snapshot=True)))
            self.messages_sent += 1
        return None

    def unsubscribe(self, conn: Connection, channel: str) -> None:
        conn.channels.discard(channel)
        self._leave(channel, conn)

    # -- publishing ---------------------------------------------------------------------------

    def _to_channel(self, channel: str, message: dict[str, Any]) -> None:
        subscribers = self.by_channel.get(channel)
        if not subscribers:
            return
        payload = _json.encode(message)
        for conn in subscribers:
            conn.send(payload)
        self.messages_sent += len(subscribers)

    def wants(self, account_id: int, channel: str) -> bool:
        """Whether any connection of this account listens to a private channel."""
        conns = self.by_account.get(account_id)
        return conns is not None and any(channel in conn.channels for conn in conns)

    def _to_account(self, account_id: int, channel: str, message: dict[str, Any]) -> None:
        conns = self.by_account.get(account_id)
        if not conns:
            return
        payload = None
        for conn in conns:
            if channel in conn.channels:
                payload = payload or _json.encode(message)
                conn.send(payload)
                self.messages_sent += 1

    def publish(self, outcome: Any) -> None:
        """Fan out one durable outcome (called on the event loop, in seq order)."""
        self.seq = outcome.seq
        for e in outcome.events:
            handler = _HANDLERS.get(type(e))
            if handler is not None:
                handler(self, outcome.seq, e)
        if self._ticker_dirty:
            self._send_tickers(outcome.seq)
        for listener in self.listeners:
            listener(outcome)

    # -- tickers ------------------------------------------------------------------------------

    def _ticker_state(self, contract: int) -> TickerState:
        t = self.tickers.get(contract) or Ticker()
        book = self.books.get(contract)
        bid, ask = book.top() if book is not None else (None, None)
        return (t.last, bid, ask, t.prev_day, t.volume, t.volume_shares)

    def _ticker_message(self, contract: int, state: TickerState, ts_ms: int, seq: int,
                        snapshot: bool = False) -> dict[str, Any]:
        last, bid, ask, prev_day, volume, volume_shares = state
        return {"type": "ticker", "channel": f"ticker:{contract}", "contract_id": contract,
                "last": present.price(last), "best_bid": present.price(bid),
                "best_ask": present.price(ask),
                "change": present.signed_price(
                    last - prev_day if last is not None and prev_day is not None else None),
                "prev_day_price": present.price(prev_day), "volume": present.amount(volume),
                "volume_shares": volume_shares, "snapshot": snapshot, "ts_ms": ts_ms,
                "seq": seq}

    def _send_tickers(self, seq: int) -> None:
        """After a command: one message per watched contract whose ticker it changed."""
        dirty, self._ticker_dirty = self._ticker_dirty, {}
        if self._early_fills is not None:
            return  # the startup read sends every snapshot when it arrives
        for contract, ts_ms in dirty.items():
            state = self._ticker_state(contract)
            if self.ticker_sent.get(contract) == state:
                continue  # a book change below the top
            self.ticker_sent[contract] = state
            self._to_channel(f"ticker:{contract}",
                             self._ticker_message(contract, state, ts_ms, seq))

    def _resend_tickers(self, everyone: bool) -> None:
        """To each watched ticker channel whose state differs from what it was last sent (or
        to all of them): a snapshot as of the last published seq."""
        now = self.clock()
        for channel in [c for c in self.by_channel if c.startswith("ticker:")]:
            contract = int(channel[7:])
            state = self._ticker_state(contract)
            if not everyone and self.ticker_sent.get(contract) == state:
                continue
            self.ticker_sent[contract] = state
            self._to_channel(channel, self._ticker_message(contract, state, now, self.seq,
                                                           snapshot=True))

    def load_tickers(self, store_seq: int,
                     base: dict[int, tuple[int | None, int, int]],
                     references: dict[int, int]) -> None:
        """The startup read (on the loop): per contract (last, dollar volume, shares) as of
        `store_seq` and the 24 h references; the fills published after that seq are added
        again, and every watched ticker channel gets its snapshot."""
        tickers = {contract: Ticker(last, references.get(contract), volume, shares)
                   for contract, (last, volume, shares) in base.items()}
        for seq, contract, yes_price, size, dollars in self._early_fills or ():
            if seq > store_seq:
                tickers.setdefault(contract, Ticker()).trade(yes_price, size, dollars)
        self.tickers, self._early_fills = tickers, None
        self._resend_tickers(everyone=True)

    def refresh_references(self, references: dict[int, int]) -> None:
        """A periodic re-read of the 24 h references (on the loop). A contract the store has
        no bar for keeps its own (its first trade's, or none); watched channels whose state
        changed get a snapshot."""
        for contract, reference in references.items():
            ticker = self.tickers.get(contract)
            if ticker is None:
                ticker = self.tickers[contract] = Ticker()
            ticker.prev_day = reference
        self._resend_tickers(everyone=False)

    def publish_news(self, item: dict[str, Any]) -> None:
        """Push a new news item to `news`, and to `market:<id>` of every market it is linked
        to (`item["markets"]`: [{"market_id", ...}]). Called on the event loop."""
        self._to_channel("news", {"type": "news", "channel": "news", "item": item})
        for link in item.get("markets", ()):
            market_id = int(link["market_id"])
            self._to_channel(f"market:{market_id}", {
                "type": "news", "channel": f"market:{market_id}", "market_id": market_id,
                "item": item})

    def heartbeat(self) -> None:
        for channel, subscribers in self.by_channel.items():
            if subscribers and channel.startswith("book:"):
                contract = int(channel[5:])
                book = self.books.setdefault(contract, Book())
                self._to_channel(channel, {"type": "heartbeat", "channel": channel,
                                           "seq": book.seq, "checksum": book.checksum()})


def _discard(index: dict[Any, set[Connection]], key: Any, conn: Connection) -> None:
    """Remove conn from index[key], and the key with its last connection (no empty sets pile
    up under keys that anyone may pick, such as channel names)."""
    conns = index.get(key)
    if conns is not None:
        conns.discard(conn)
        if not conns:
            del index[key]


def _book(hub: Hub, seq: int, e: ev.BookLevel) -> None:
    ts, contract, book_seq, levels = e.ts_ms, e.contract, e.book_seq, e.levels
    book = hub.books.setdefault(contract, Book())
    book.apply(book_seq, levels)
    if contract in hub.ticker_sent:  # watched: the top may have moved (checked after the command)
        hub._ticker_dirty[contract] = ts
    channel = f"book:{contract}"
    if not hub.by_channel.get(channel):
        return  # nobody listens: skip the checksum and the message
    hub._to_channel(channel, {
        "type": "delta", "channel": channel, "contract_id": contract, "seq": book_seq,
        "checksum": book.checksum(),
        "levels": [[present.price(p), b, a] for p, b, a in levels]})


def _fill(hub: Hub, seq: int, e: ev.Fill) -> None:
    ts, contract, yes_price, size = e.ts_ms, e.contract, e.yes_price_micro, e.size
    dollars = (MICRO - yes_price if e.taker_outcome == NO else yes_price) * size
    ticker = hub.tickers.get(contract)
    if ticker is None:
        ticker = hub.tickers[contract] = Ticker()
    ticker.trade(yes_price, size, dollars)
    if hub._early_fills is not None:
        hub._early_fills.append((seq, contract, yes_price, size, dollars))
    if contract in hub.ticker_sent:
        hub._ticker_dirty[contract] = ts
    trades = f"trades:{contract}"
    if hub.by_channel.get(trades):
        taker_side = f"{ACTION_NAMES[e.taker_action]}_{OUTCOME_NAMES[e.taker_outcome]}"
        hub._to_channel(trades, {
            "type": "trade", "channel": trades, "contract_id": contract,
            "price": present.price(yes_price), "size": size,
            "taker_side": taker_side, "ts_ms": ts, "seq": seq})
    sides = (("taker", e.taker_order, e.taker_account, e.taker_outcome, e.taker_action,
              e.taker_fee_micro),
             ("maker", e.maker_order, e.maker_account, e.maker_outcome, e.maker_action,
              e.maker_fee_micro))
    for role, order, account, outcome, action, fee in sides:
        if not hub.wants(account, "fills"):
            continue
        hub._to_account(account, "fills", {
            "type": "fill", "channel": "fills", "order_id": order,
            "contract_id": contract, "outcome": OUTCOME_NAMES[outcome],
            "side": ACTION_NAMES[action],
            "price": present.price(present.own_price(yes_price, outcome)),
            "size": size, "fee": present.amount(fee),
            "liquidity": role, "ts_ms": ts, "seq": seq})


_ORDER_EVENT_KINDS: dict[type, str] = {
    ev.OrderAccepted: "accepted", ev.OrderDone: "done", ev.OrderAmended: "amended"}


def _order_event(hub: Hub, seq: int,
                 e: ev.OrderAccepted | ev.OrderDone | ev.OrderAmended) -> None:
    if not hub.wants(e.account, "orders"):
        return
    kind = _ORDER_EVENT_KINDS[type(e)]
    message: dict[str, Any] = {"type": "order", "channel": "orders", "event": kind, "seq": seq,
                               "order_id": e.order, "contract_id": e.contract,
                               "ts_ms": e.ts_ms}
    if isinstance(e, ev.OrderAccepted):
        message.update(outcome=OUTCOME_NAMES[e.outcome], side=ACTION_NAMES[e.action],
                       price=present.price(e.price_micro), size=e.size,
                       client_order_id=e.client_id or None)
    elif isinstance(e, ev.OrderDone):
        message.update(reason=e.reason, filled=e.filled, remaining=e.remaining)
    else:
        message.update(price=present.price(e.price_micro), remaining=e.remaining,
                       kept_priority=e.kept_priority)
    hub._to_account(e.account, "orders", message)


def _balance(hub: Hub, seq: int, e: ev.Balance) -> None:
    ts, account, free, reserved = e.ts_ms, e.account, e.free_micro, e.reserved_micro
    if not hub.wants(account, "balance"):
        return
    hub._to_account(account, "balance", {
        "type": "balance", "channel": "balance", "free": present.amount(free),
        "reserved": present.amount(reserved), "ts_ms": ts, "seq": seq})


def _position(hub: Hub, seq: int, e: ev.Position) -> None:
    ts, account, contract = e.ts_ms, e.account, e.contract
    yes, no, yes_res, no_res = e.yes_shares, e.no_shares, e.yes_reserved, e.no_reserved
    if not hub.wants(account, "positions"):
        return
    hub._to_account(account, "positions", {
        "type": "position", "channel": "positions", "contract_id": contract, "yes": yes,
        "no": no, "yes_reserved": yes_res, "no_reserved": no_res, "ts_ms": ts, "seq": seq})


def _market(hub: Hub, seq: int, e: ev.MarketStatus) -> None:
    ts, market, status, reason, actor = e.ts_ms, e.market, e.status, e.reason, e.actor
    hub._to_channel(f"market:{market}", {
        "type": "market", "channel": f"market:{market}", "market_id": market,
        "status": present.market_status(status), "reason": reason, "actor": actor,
        "ts_ms": ts, "seq": seq})


def _market_action(hub: Hub, seq: int, e: ev.MarketAction) -> None:
    ts, market, action, actor, reason, text = (e.ts_ms, e.market, e.action, e.actor, e.reason,
                                               e.text)
    if action in ("clarify", "dispute", "uphold", "reject"):
        hub._to_channel(f"market:{market}", {
            "type": "market_action", "channel": f"market:{market}", "market_id": market,
            "action": action, "actor": actor, "reason": reason, "text": text, "ts_ms": ts,
            "seq": seq})


_HANDLERS: dict[type, Callable[[Hub, int, Any], None]] = {
    ev.BookLevel: _book,
    ev.Fill: _fill,
    ev.OrderAccepted: _order_event,
    ev.OrderDone: _order_event,
    ev.OrderAmended: _order_event,
    ev.Balance: _balance,
    ev.Position: _position,
    ev.MarketStatus: _market,
    ev.MarketAction: _market_action,
}
