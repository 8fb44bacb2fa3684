"""Market states and their allowed transitions (the engine's part of the lifecycle)."""

PENDING, OPEN, HALTED, CLOSED, SETTLED, VOIDED = 0, 1, 2, 3, 4, 5
STATUS_NAMES = ("pending", "open", "halted", "closed", "settled", "voided")

TRANSITIONS: dict[int, frozenset[int]] = {
    PENDING: frozenset({OPEN, VOIDED}),
    OPEN: frozenset({HALTED, CLOSED, SETTLED, VOIDED}),
    HALTED: frozenset({OPEN, CLOSED, SETTLED, VOIDED}),
    CLOSED: frozenset({SETTLED, VOIDED}),
    SETTLED: frozenset(),
    VOIDED: frozenset(),
}
