"""`foretell` command line: serve | demo | admin | audit | bench | cluster."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from foretell.domain.codes import Refused
from foretell.domain.units import format_micro

app = typer.Typer(help="Foretell prediction-market exchange.", no_args_is_help=True)
console = Console()


@app.command()
def audit(data: Path = typer.Option(Path("var"), help="data directory"),
          as_json: bool = typer.Option(False, "--json", help="print the report as JSON")) -> None:
    """Replay the journal of a data directory, check every invariant, print totals; with real
    USDC configured (FORETELL_CHAIN_*), also on-chain reserves against what the ledger owes.

    Exits 1 on any violation or a reserves shortfall, 2 if there is no such data directory.
    """
    from foretell.engine.audit import audit as run_audit
    from foretell.engine.snapshot import state_hash
    from foretell.exchange.recovery import recover

    if not data.is_dir():
        Console(stderr=True).print(f"[red]No data directory at {data}[/red]: give the "
                                   "exchange's data directory with --data.")
        raise typer.Exit(2)
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
    reserves = _reserves(engine, data)
    if reserves is not None:
        totals["reserves"] = reserves
    if as_json:
        print(json.dumps(totals))
    else:
        table = Table(title=f"Audit of {data}")
        table.add_column("total")
        table.add_column("value", justify="right")
        for key, value in totals.items():
            if key not in ("violations", "reserves"):
                table.add_row(key, str(value))
        for key in ("held", "owed", "pending_withdrawals", "ratio", "shortfall"):
            if reserves is not None:
                table.add_row(f"reserves.{key}", str(reserves[key]))
        console.print(table)
        for violation in report.violations:
            console.print(f"[red]violation[/red] {violation}")
        console.print("[green]all invariants hold[/green]" if report.ok else "[red]FAILED[/red]")
    short = reserves is not None and reserves["shortfall"]
    if short and not as_json:
        console.print("[red]reserves shortfall: on-chain holdings < what the ledger owes[/red]")
    raise typer.Exit(0 if report.ok and not short else 1)


def _reserves(engine: Any, data: Path) -> dict[str, Any] | None:
    """Proof of reserves when real USDC is configured (FORETELL_CHAIN_*), else None."""
    import os

    from foretell.config import ChainSettings, Settings

    cfg = ChainSettings.from_env(os.environ)
    if cfg is None:
        return None
    from foretell.chain.reserves import offline_report

    return offline_report(engine, Settings(data=data).db_url, cfg)


@app.command()
def bench(which: str = typer.Argument("engine", help="engine | journal"),
          commands: int = typer.Option(1_000_000, help="commands in the workload"),
          as_json: bool = typer.Option(False, "--json")) -> None:
    """Run a benchmark; same as `python -m foretell.bench`."""
    from foretell.bench.__main__ import main as bench_main

    args = [which, "--commands", str(commands)] + (["--json"] if as_json else [])
    raise typer.Exit(bench_main(args))


@app.command()
def serve(host: str = typer.Option(None, help="default FORETELL_HOST or 127.0.0.1"),
          port: int = typer.Option(None, help="default FORETELL_PORT or 8000"),
          data: Path = typer.Option(None, help="default FORETELL_DATA or ./var")) -> None:
    """Start the exchange (REST, WebSocket, web UI); loads the demo on first start."""
    import uvicorn

    from foretell.app import create_app, server_options
    from foretell.config import Settings
    from foretell.journal.log import held_by_a_writer

    overrides = {k: v for k, v in {"host": host, "port": port, "data": data}.items()
                 if v is not None}
    settings = Settings.from_env(**overrides)
    if held_by_a_writer(settings.journal_dir):
        console.print(f"[red]Foretell is already running on {settings.data.resolve()}: stop it "
                      "first, or start another with --data DIR.[/red]", soft_wrap=True)
        raise typer.Exit(2)
    console.print(f"Starting Foretell (data in {settings.data.resolve()})", soft_wrap=True,
                  highlight=False)

    def ready(demo: str | None) -> None:
        console.print(start_line(f"http://{settings.host}:{settings.port}", demo),
                      soft_wrap=True, highlight=False)

    uvicorn.run(create_app(settings, on_ready=ready), host=settings.host, port=settings.port,
                log_level="warning", **server_options(settings))


def start_line(url: str, demo: str | None) -> str:
    """What `serve` prints once it is ready: the URL and, with the demo, the logins to use."""
    if demo is None:
        return f"Foretell on {url}"
    from foretell.demo import content

    def names(role: str) -> str:
        return ", ".join(u.username for u in content.USERS if u.role == role)

    what = "demo loaded" if demo == "loaded" else "demo already loaded"
    return (f"Foretell on {url} — {what}: supervisor {names('supervisor')}, creator "
            f"{names('creator')}, traders {names('trader')} (password {content.DEMO_PASSWORD})")


def _offline(data: Path | None) -> Any:
    """The service on a data directory, for offline admin work (the server must be stopped)."""
    from foretell.config import Settings
    from foretell.journal.log import JournalLocked
    from foretell.services import Services

    settings = Settings.from_env(**({"data": data} if data else {}))
    try:
        return Services(settings)
    except JournalLocked:
        console.print("[red]The exchange is running on this data directory: stop it, or use "
                      "the admin API.[/red]")
        raise typer.Exit(2) from None


@app.command()
def demo(data: Path = typer.Option(None, help="default FORETELL_DATA or ./var"),
         yes: bool = typer.Option(False, "--yes", help="do not ask before deleting")) -> None:
    """Delete the data directory and load the demo afresh."""
    import asyncio
    import shutil

    from foretell.config import Settings
    from foretell.demo.loader import ensure_demo

    settings = Settings.from_env(**({"data": data} if data else {}))
    if settings.data.exists():
        if not yes and not typer.confirm(f"Delete everything in {settings.data}?"):
            raise typer.Exit(1)
        shutil.rmtree(settings.data)
    svc = _offline(settings.data)
    try:
        asyncio.run(ensure_demo(svc))
    finally:
        svc.close()
    console.print("[green]demo loaded[/green]; start it with [bold]make run[/bold]")


admin = typer.Typer(help="Operator tasks on a stopped exchange's data directory.")
app.add_typer(admin, name="admin")


@admin.command("create-supervisor")
def create_supervisor(username: str, password: str = typer.Option(..., prompt=True,
                                                                  hide_input=True),
                      data: Path = typer.Option(None)) -> None:
    """Create a supervisor account."""
    svc = _offline(data)
    try:
        user_id = svc.accounts.create_user(username, password, "supervisor")
    finally:
        svc.close()
    console.print(f"supervisor [bold]{username}[/bold] has account id {user_id}")


@admin.command("credit")
def credit(account_id: int, amount: str, reason: str = typer.Option(..., "--reason"),
           data: Path = typer.Option(None)) -> None:
    """Credit (or debit, with a negative amount) USDC to an account, with a reason."""
    import asyncio

    from foretell.domain.units import parse_micro

    micro = parse_micro(amount.lstrip("-")) * (-1 if amount.startswith("-") else 1)
    svc = _offline(data)
    try:
        result = asyncio.run(_credit(svc, account_id, micro, reason))
    finally:
        svc.close()
    console.print(result)


async def _credit(svc: Any, account_id: int, micro: int, reason: str) -> Any:
    return await svc.accounts.credit(account_id, micro, f"{reason} (cli)", 0)


@admin.command("suspend")
def suspend(account_id: int, reason: str = typer.Option(..., "--reason"),
            data: Path = typer.Option(None)) -> None:
    """Suspend an account: sessions end, API keys refused, resting and trigger orders cancelled;
    its money stays. The reason is kept on record (by: the CLI)."""
    _standing(data, lambda svc: svc.accounts.suspend(account_id, reason, None))


@admin.command("reinstate")
def reinstate(account_id: int, reason: str = typer.Option(..., "--reason"),
              data: Path = typer.Option(None)) -> None:
    """Lift a suspension: the account can log in and use its API keys again."""
    _standing(data, lambda svc: svc.accounts.reinstate(account_id, reason, None))


def _standing(data: Path | None, verb: Callable[[Any], Coroutine[Any, Any, Any]]) -> None:
    """Run a suspend or reinstate on a stopped exchange's data; print its answer or refusal."""
    import asyncio

    svc = _offline(data)
    try:
        result = asyncio.run(verb(svc))
    except Refused as exc:
        console.print(f"[red]{exc.code}[/red]: {exc.message}")
        raise typer.Exit(1) from None
    finally:
        svc.close()
    console.print(result)


@admin.command("accounts")
def accounts(data: Path = typer.Option(None)) -> None:
    """List accounts with their cash."""
    import sqlalchemy as sa

    from foretell.store import schema as t

    svc = _offline(data)
    try:
        table = Table("id", "username", "role", "free", "reserved")
        with svc.db.connect() as conn:
            for row in conn.execute(sa.select(t.users.c.id, t.users.c.username,
                                              t.users.c.role).order_by(t.users.c.id)):
                bal = svc.portfolio.balance(row.id)
                table.add_row(str(row.id), row.username, row.role, bal["free"], bal["reserved"])
        console.print(table)
    finally:
        svc.close()


cluster = typer.Typer(help="Cluster mode on NATS JetStream: gateways, engine replicas, "
                      "projectors (settings: FORETELL_NATS_URL, FORETELL_CLUSTER_PREFIX, "
                      "FORETELL_CLUSTER_REPLICAS; the store: FORETELL_DATABASE_URL).")
app.add_typer(cluster, name="cluster")


def _cluster_settings(nats: str | None, prefix: str | None, replicas: int | None) -> Any:
    from foretell.cluster.streams import ClusterSettings

    servers = tuple(s for s in nats.split(",") if s) if nats else None
    return ClusterSettings.from_env(servers=servers, prefix=prefix, replicas=replicas)


NATS_OPT = typer.Option(None, "--nats", help="NATS URLs, comma-separated (FORETELL_NATS_URL)")
PREFIX_OPT = typer.Option(None, help="stream and bucket name prefix (FORETELL_CLUSTER_PREFIX)")
REPLICAS_OPT = typer.Option(None, help="stream replication, 1 or 3 (FORETELL_CLUSTER_REPLICAS)")


@cluster.command("gateway")
def cluster_gateway(host: str = typer.Option(None), port: int = typer.Option(None),
                    data: Path = typer.Option(None, help="holds secret.key: the same for "
                                              "every gateway"),
                    nats: str = NATS_OPT, prefix: str = PREFIX_OPT,
                    replicas: int = REPLICAS_OPT,
                    demo: bool = typer.Option(False, "--demo", help="load the demo into the "
                                              "cluster (once, whichever gateway does it) and "
                                              "run its market maker (FORETELL_MARKET_MAKER=0: "
                                              "without)")) -> None:
    """A gateway: REST, WebSocket and pages over the cluster (stateless; run any number).
    Singleton jobs (news poller, chain jobs, the demo's) run on one gateway at a time."""
    import uvicorn

    from foretell.app import create_app, server_options
    from foretell.cluster.gateway import GatewayNode
    from foretell.config import Settings

    cs = _cluster_settings(nats, prefix, replicas)
    overrides = {k: v for k, v in {"host": host, "port": port, "data": data}.items()
                 if v is not None}
    if not demo:
        overrides["market_maker"] = False
    settings = Settings.from_env(demo=demo, **overrides)
    _require_postgres(settings.database_url)

    def ready(_: str | None) -> None:
        console.print(gateway_start_line(settings.public_base_url, demo), soft_wrap=True,
                      highlight=False)

    uvicorn.run(create_app(settings, on_ready=ready, node=lambda s: GatewayNode(s, cs)),
                host=settings.host, port=settings.port, log_level="warning",
                timeout_keep_alive=60, **server_options(settings))


def _require_postgres(database_url: str | None) -> None:
    """Cluster mode keeps its store in PostgreSQL: without it, say so (not a traceback, and not
    a SQLite file in ./var that no gateway reads)."""
    if not (database_url or "").startswith("postgresql"):
        Console(stderr=True).print("[red]cluster mode needs FORETELL_DATABASE_URL="
                                   "postgresql://user@host/db (an existing database)[/red]",
                                   soft_wrap=True)
        raise typer.Exit(2)


def gateway_start_line(url: str, demo: bool) -> str:
    """What `cluster gateway` prints once it serves: its URL and, with --demo, the logins (the
    demo is loaded once into the cluster by whichever gateway holds the demo job)."""
    if not demo:
        return f"Foretell gateway on {url}"
    from foretell.demo import content

    def names(role: str) -> str:
        return ", ".join(u.username for u in content.USERS if u.role == role)

    return (f"Foretell gateway on {url} — demo logins (once the cluster has loaded it): "
            f"supervisor {names('supervisor')}, creator {names('creator')}, traders "
            f"{names('trader')} (password {content.DEMO_PASSWORD})")


@cluster.command("engine")
def cluster_engine(replica_id: str = typer.Option(..., "--id", help="this replica's name"),
                   nats: str = NATS_OPT, prefix: str = PREFIX_OPT,
                   replicas: int = REPLICAS_OPT) -> None:
    """An engine replica (run two or more: one leads, the others take over when it dies)."""
    from foretell.cluster.replica import run_replica

    run_replica(_cluster_settings(nats, prefix, replicas), replica_id)


@cluster.command("projector")
def cluster_projector(nats: str = NATS_OPT, prefix: str = PREFIX_OPT,
                      replicas: int = REPLICAS_OPT) -> None:
    """The projector: the event stream into PostgreSQL (FORETELL_DATABASE_URL), exactly once."""
    import os

    from foretell.cluster.projector import run_projector

    database_url = os.environ.get("FORETELL_DATABASE_URL", "")
    _require_postgres(database_url)
    run_projector(database_url, _cluster_settings(nats, prefix, replicas))


@cluster.command("create-supervisor")
def cluster_create_supervisor(username: str,
                              password: str = typer.Option(..., prompt=True,
                                                           confirmation_prompt=True,
                                                           hide_input=True),
                              data: Path = typer.Option(None, help="the gateways' data "
                                                        "directory (secret.key)")) -> None:
    """Create a supervisor in the store the gateways share (FORETELL_DATABASE_URL)."""
    from foretell.cluster.gateway import GatewayNode
    from foretell.config import Settings
    from foretell.services import Services

    overrides = {"data": data} if data is not None else {}
    settings = Settings.from_env(demo=False, market_maker=False, **overrides)
    _require_postgres(settings.database_url)
    node = GatewayNode(settings, _cluster_settings(None, None, None))
    try:
        user_id = Services(settings, node=node).accounts.create_user(username, password,
                                                                     role="supervisor")
    finally:
        node.close()
    console.print(f"supervisor {username} created (id {user_id})")


@cluster.command("audit")
def cluster_audit(nats: str = NATS_OPT, prefix: str = PREFIX_OPT,
                  wait_s: float = typer.Option(30.0, help="wait this long for idle replicas"),
                  as_json: bool = typer.Option(False, "--json")) -> None:
    """Replay the command stream (from scratch and from the latest snapshot), check every
    invariant and compare state hashes with every replica. Exits 1 on any difference."""
    import asyncio
    import dataclasses

    from foretell.cluster.audit import audit_cluster

    report = asyncio.run(audit_cluster(_cluster_settings(nats, prefix, None), wait_s))
    if as_json:
        print(json.dumps(dataclasses.asdict(report) | {"ok": report.ok}))
    else:
        console.print(f"seq {report.seq} state hash {report.state_hash}", soft_wrap=True)
        for name, replica in sorted(report.replicas.items()):
            console.print(f"{name}: {replica}", soft_wrap=True)
        for violation in report.violations:
            console.print(f"[red]violation[/red] {violation}")
        console.print("[green]clean[/green]" if report.ok else "[red]FAILED[/red]")
    raise typer.Exit(0 if report.ok else 1)


def main() -> None:
    app(prog_name="foretell")


if __name__ == "__main__":
    main()
