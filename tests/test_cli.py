"""`foretell audit` on a real data directory: clean totals, and a tampered snapshot is caught;
`foretell admin suspend` / `reinstate` on a stopped exchange."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from foretell.bench.workload import commands
from foretell.cli import app
from foretell.engine import snapshot
from foretell.exchange.pipeline import Pipeline
from foretell.exchange.recovery import recover
from foretell.journal.snapshot import write_snapshot


def fill(directory: Path, n: int = 3_000) -> None:
    pipeline = Pipeline(directory, snapshot_every=1_000)
    for command in commands(n, seed=11, markets=5, accounts=20):
        pipeline.submit(command, stamp=False)
    pipeline.committer.wait_durable(pipeline.seq)
    pipeline.close()


def test_audit_reports_totals_and_exits_zero(tmp_path: Path) -> None:
    fill(tmp_path)
    result = CliRunner().invoke(app, ["audit", "--data", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    totals = json.loads(result.stdout.strip().splitlines()[-1])
    engine, seq = recover(tmp_path)
    assert totals["seq"] == seq > 3_000
    assert totals["state_hash"] == snapshot.state_hash(engine)
    assert totals["violations"] == []


def test_audit_exits_nonzero_on_a_violation(tmp_path: Path) -> None:
    fill(tmp_path)
    engine, seq = recover(tmp_path)
    next(iter(engine.accounts.values())).free += 1  # one micro-USDC out of thin air
    write_snapshot(tmp_path, seq, snapshot.dumps(engine))
    result = CliRunner().invoke(app, ["audit", "--data", str(tmp_path)])
    assert result.exit_code == 1
    assert "conservation" in result.stdout


def test_audit_of_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir"
    result = CliRunner().invoke(app, ["audit", "--data", str(missing)])
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)  # not a traceback
    assert "No data directory" in result.output and "Traceback" not in result.output
    assert not missing.exists()  # nothing was created on the way


def test_serve_on_a_directory_in_use_says_so_in_one_line(tmp_path: Path) -> None:
    from foretell.journal.log import Journal

    journal_dir = tmp_path / "journal"
    journal_dir.mkdir()
    running = Journal.open(journal_dir)  # the lock a running exchange holds
    try:
        result = CliRunner().invoke(app, ["serve", "--data", str(tmp_path), "--port", "1"])
    finally:
        running.close()
    assert result.exit_code == 2
    assert "already running" in result.output and "Traceback" not in result.output
    # Released: the check itself must not keep the lock.
    Journal.open(journal_dir).close()


def test_admin_suspend_and_reinstate(tmp_path: Path) -> None:
    from foretell.config import Settings
    from foretell.services import Services

    svc = Services(Settings(data=tmp_path, demo=False, market_maker=False))
    try:
        ada = svc.accounts.create_user("ada", "password-1")
    finally:
        svc.close()
    runner = CliRunner()
    done = runner.invoke(app, ["admin", "suspend", str(ada), "--reason", "chargeback fraud",
                               "--data", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert "'suspended': True" in done.output
    again = runner.invoke(app, ["admin", "suspend", str(ada), "--reason", "again",
                                "--data", str(tmp_path)])
    assert again.exit_code == 1 and "already_suspended" in again.output
    back = runner.invoke(app, ["admin", "reinstate", str(ada), "--reason", "cleared",
                               "--data", str(tmp_path)])
    assert back.exit_code == 0 and "'suspended': False" in back.output


def test_cluster_commands_without_postgres_say_so_and_write_nothing(tmp_path: Path) -> None:
    """The store of cluster mode is PostgreSQL: without FORETELL_DATABASE_URL the projector
    said KeyError in a traceback, and create-supervisor made the supervisor in a SQLite file
    that no gateway reads ("supervisor x created")."""
    env = {"FORETELL_DATABASE_URL": None}
    for args in (["cluster", "projector"],
                 ["cluster", "create-supervisor", "ops", "--password", "long-enough-pass",
                  "--data", str(tmp_path)],
                 ["cluster", "gateway", "--data", str(tmp_path), "--port", "1"]):
        result = CliRunner().invoke(app, args, env=env)
        assert result.exit_code == 2, (args, result.output)
        assert isinstance(result.exception, SystemExit), args  # not a traceback
        assert "FORETELL_DATABASE_URL=postgresql://" in result.output
    assert not (tmp_path / "foretell.db").exists()


def test_gateway_start_line_gives_the_url_and_with_the_demo_its_logins() -> None:
    from foretell.cli import gateway_start_line
    from foretell.demo import content

    assert gateway_start_line("http://127.0.0.1:8001", False) == \
        "Foretell gateway on http://127.0.0.1:8001"
    line = gateway_start_line("http://127.0.0.1:8001", True)
    assert line.startswith("Foretell gateway on http://127.0.0.1:8001")
    for user in content.USERS:
        assert user.username in line
    assert f"password {content.DEMO_PASSWORD}" in line
