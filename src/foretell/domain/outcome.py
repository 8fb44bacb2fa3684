"""What one journaled command did: the unit every stage after the engine passes along."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
