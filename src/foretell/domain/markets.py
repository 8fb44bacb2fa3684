"""Market states and their allowed transitions.

draft -> in_review -> (changes_requested -> in_review) -> open -> (halted <-> open) -> closed
-> resolution_proposed -> (disputed) -> settled, or voided at any point before settlement.
A supervisor may also settle an open, halted or closed market directly (the last word).
"""

from typing import Final

DRAFT: Final = 0
OPEN: Final = 1
HALTED: Final = 2
CLOSED: Final = 3
SETTLED: Final = 4
VOIDED: Final = 5
IN_REVIEW: Final = 6
CHANGES_REQUESTED: Final = 7
PROPOSED: Final = 8
DISPUTED: Final = 9
PENDING = DRAFT  # the engine's older name for a market that is not yet open

STATUS_NAMES = ("draft", "open", "halted", "closed", "settled", "voided", "in_review",
                "changes_requested", "resolution_proposed", "disputed")

TRANSITIONS: dict[int, frozenset[int]] = {
    DRAFT: frozenset({IN_REVIEW, VOIDED}),
    IN_REVIEW: frozenset({CHANGES_REQUESTED, OPEN, VOIDED}),
    CHANGES_REQUESTED: frozenset({IN_REVIEW, VOIDED}),
    OPEN: frozenset({HALTED, CLOSED, SETTLED, VOIDED}),
    HALTED: frozenset({OPEN, CLOSED, SETTLED, VOIDED}),
    CLOSED: frozenset({PROPOSED, SETTLED, VOIDED}),
    PROPOSED: frozenset({DISPUTED, SETTLED, VOIDED}),
    DISPUTED: frozenset({SETTLED, VOIDED}),
    SETTLED: frozenset(),
    VOIDED: frozenset(),
}

# Non-money actions on a market, with the status each one moves to (None: status unchanged).
ACTIONS: dict[str, int | None] = {
    "submit": IN_REVIEW,
    "request_changes": CHANGES_REQUESTED,
    "approve": OPEN,
    "halt": HALTED,
    "resume": OPEN,
    "close": CLOSED,
    "update_draft": None,
    "clarify": None,
    "reassign_creator": None,
}
EDITABLE = frozenset({DRAFT, CHANGES_REQUESTED})
CLARIFIABLE = frozenset({OPEN, HALTED, CLOSED, PROPOSED, DISPUTED})
dispute_window_ms_default = 24 * 3600 * 1000
