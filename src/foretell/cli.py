"""`foretell` command line: serve | demo | admin | audit | bench."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from foretell.domain.units import format_micro

app = typer.Typer(help="Foretell prediction-market exchange.", no_args_is_help=True)
console = Console()


@app.command()
def audit(data: Path = typer.Option(Path("var"), help="data directory"),
          as_json: bool = typer.Option(False, "--json", help="print the report as JSON")) -> None:
    """Replay the journal of a data directory, check every invariant, print totals.

    Exits 1 on any violation.
    """
    from foretell.engine.audit import audit as run_audit
    from foretell.engine.snapshot import state_hash
    from foretell.journal.replay import recover

    journal_dir = data / "journal" if (data / "journal").is_dir() else data
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("replaying journal", total=None)
        engine, seq = recover(journal_dir, progress=lambda s: progress.update(task, completed=s))
    report = run_audit(engine)
    totals = {
        "seq": seq,
        "state_hash": state_hash(engine),
        "accounts": report.accounts,
        "markets": report.markets,
        "resting_orders": report.resting_orders,
        "live_triggers": report.live_triggers,
        "cash_free": format_micro(report.cash_free_micro),
        "cash_reserved": format_micro(report.cash_reserved_micro),
        "collateral": format_micro(report.collateral_micro),
        "fees": format_micro(report.fees_micro),
        "net_deposits": format_micro(report.deposits_micro),
        "violations": report.violations,
    }
    if as_json:
        print(json.dumps(totals))
    else:
        table = Table(title=f"Audit of {data}")
        table.add_column("total")
        table.add_column("value", justify="right")
        for key, value in totals.items():
            if key != "violations":
                table.add_row(key, str(value))
        console.print(table)
        for violation in report.violations:
            console.print(f"[red]violation[/red] {violation}")
        console.print("[green]all invariants hold[/green]" if report.ok else "[red]FAILED[/red]")
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def bench(which: str = typer.Argument("engine", help="engine | journal"),
          commands: int = typer.Option(1_000_000, help="commands in the workload"),
          as_json: bool = typer.Option(False, "--json")) -> None:
    """Run a benchmark; same as `python -m foretell.bench`."""
    from foretell.bench.__main__ import main as bench_main

    args = [which, "--commands", str(commands)] + (["--json"] if as_json else [])
    raise typer.Exit(bench_main(args))


def main() -> None:
    app(prog_name="foretell")


if __name__ == "__main__":
    main()
