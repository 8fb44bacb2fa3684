"""What one journaled command did: the unit every stage after the engine passes along."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from foretell.domain import commands as cmd

Event = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Outcome:
    """A command's result and events at its seq; `command` is the exact one journaled
    (stamped). Published only once the journal says the seq is durable."""

    seq: int
    command: cmd.Command
    code: str
    value: Any
    events: list[Event]

    @property
    def ok(self) -> bool:
        return self.code == "ok"


# The wire form of an outcome (cluster mode: the event stream). Only these two functions put
# outcomes on the wire, so the event types can change without touching the transport.
_outcome_encoder = msgspec.msgpack.Encoder()
_outcome_decoder = msgspec.msgpack.Decoder(tuple[int, bytes, str, Any, list[Any]])


def encode_outcome(outcome: Outcome) -> bytes:
    """msgpack: (seq, the journaled command's bytes, code, value, events)."""
    return _outcome_encoder.encode((outcome.seq, cmd.encode(outcome.command), outcome.code,
                                    outcome.value, outcome.events))


def decode_outcome(data: bytes) -> Outcome:
    """The outcome `encode_outcome` wrote, events (and any arrays in them) as tuples again
    (a value that is an array, such as a new market's contract ids, stays a list)."""
    seq, command, code, value, events = _outcome_decoder.decode(data)
    return Outcome(seq, cmd.decode(command), code, value,
                   [_tuples(event) for event in events])


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(item) for item in value)
    return value
