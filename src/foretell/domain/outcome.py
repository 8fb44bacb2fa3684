"""What one journaled command did: the unit every stage after the engine passes along, and its
wire format (MessagePack) between processes: the projector's child process, cluster mode.

On the wire an outcome is the array [seq, command, code, value, events]: the command is the
tagged `Command` union (its journal record's form), events the tagged `Event` union, so both
come back as the same typed structs. `value` is what the engine returned: an int, a str, a
list of ints or None, all of which MessagePack carries exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from foretell.domain import commands as cmd
from foretell.domain.events import Event

__all__ = ["Event", "Outcome", "decode_outcome", "decode_outcomes", "encode_outcome",
           "encode_outcomes"]


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


class _Wire(msgspec.Struct, array_like=True, frozen=True, gc=False):
    seq: int
    command: cmd.AnyCommand
    code: str
    value: int | str | list[int] | None
    events: list[Event]


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_Wire)
_batch_decoder = msgspec.msgpack.Decoder(list[_Wire])


def _wire(o: Outcome) -> _Wire:
    return _Wire(o.seq, o.command, o.code, o.value, o.events)  # type: ignore[arg-type]


def _outcome(w: _Wire) -> Outcome:
    return Outcome(w.seq, w.command, w.code, w.value, w.events)


def encode_outcome(outcome: Outcome) -> bytes:
    return _encoder.encode(_wire(outcome))


def decode_outcome(data: bytes) -> Outcome:
    return _outcome(_decoder.decode(data))


def encode_outcomes(outcomes: Sequence[Outcome]) -> bytes:
    """Many outcomes as one MessagePack array (the projector's pipe)."""
    return _encoder.encode([_wire(o) for o in outcomes])


def decode_outcomes(data: bytes) -> list[Outcome]:
    return [_outcome(w) for w in _batch_decoder.decode(data)]
