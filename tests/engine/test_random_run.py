"""Long seeded random runs: the benchmark's workload through the engine, audited as it goes.

Every failure message names the seed and the command index, so `commands(n, seed)` replays it.
"""

from __future__ import annotations

import pytest

from foretell.bench.workload import commands
from foretell.domain import codes
from foretell.domain import commands as cmd
from foretell.engine import snapshot
from foretell.engine.audit import audit
from foretell.engine.engine import Engine

COMMANDS = 100_000
AUDIT_EVERY = 1_000
# Fewer markets and accounts than the benchmark's defaults: books are deeper and cross more often.
MARKETS = 30
ACCOUNTS = 300


def _check(e: Engine, net_deposits_micro: int, where: str) -> None:
    report = audit(e)
    assert report.ok, f"{where}: audit violations: {report.violations[:20]}"
    held = (report.cash_free_micro + report.cash_reserved_micro + report.collateral_micro
            + getattr(report, "bonds_micro", 0) + report.fees_micro)
    assert held == net_deposits_micro, (
        f"{where}: cash + collateral + bonds + fees = {held}, net deposits {net_deposits_micro}")
    assert e.deposits_micro == net_deposits_micro, (
        f"{where}: engine counts {e.deposits_micro} of net deposits, the stream {net_deposits_micro}")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_seeded_random_run(seed: int) -> None:
    e = Engine()
    net_deposits = 0
    index = -1
    for index, command in enumerate(commands(COMMANDS, seed, MARKETS, ACCOUNTS)):
        try:
            code, _ = e.apply(command)
        except Exception as error:  # an InvariantBroken or a crash: say where
            raise AssertionError(f"seed {seed} command #{index} {command!r}: {error!r}") from error
        e.take_events()
        if code == codes.OK:
            if type(command) is cmd.Deposit:
                net_deposits += command.amount_micro
            elif type(command) is cmd.Withdraw:
                net_deposits -= command.amount_micro
        if (index + 1) % AUDIT_EVERY == 0:
            _check(e, net_deposits, f"seed {seed} after command #{index}")
    assert index + 1 == COMMANDS, f"seed {seed}: the workload made {index + 1} commands"
    where = f"seed {seed} at the end (command #{index})"
    _check(e, net_deposits, where)
    assert e.orders and e.fees_micro > 0, f"{where}: the run never traded"

    blob = snapshot.dumps(e)
    restored = snapshot.loads(blob)
    assert snapshot.state_hash(restored) == snapshot.state_hash(e), f"{where}: restored hash"
    assert snapshot.dumps(restored) == blob, f"{where}: dumps(loads(blob)) != blob"
    _check(restored, net_deposits, f"{where}, restored")
