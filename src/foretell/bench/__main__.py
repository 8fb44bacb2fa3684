"""`python -m foretell.bench engine|journal|store|api|cluster [--json]`: each prints its figures, JSON
last."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m foretell.bench")
    parser.add_argument("which", choices=["engine", "journal", "store", "api", "cluster"])
    parser.add_argument("--seconds", type=float, default=5.0, help="api, cluster: seconds per phase")
    parser.add_argument("--replicas", type=int, default=1,
                        help="cluster: 1 (one NATS server) or 3 (three, streams at R3)")
    parser.add_argument("--json", action="store_true", help="print only the JSON result line")
    parser.add_argument("--commands", type=int, default=None,
                        help="engine, journal: 1,000,000; store: 100,000")
    parser.add_argument("--database-url", default="", help="store: an empty database "
                        "(default SQLite in a temporary directory); cluster: a PostgreSQL "
                        "database beside which a fresh one is made (default FORETELL_TEST_PG_URL)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pool-share", type=float, default=0.1,
                        help="engine: also measure with this share of the markets backed by a "
                        "liquidity pool, in the same run (0 = only the figure without pools)")
    args = parser.parse_args(argv)
    result: dict[str, Any]
    if args.which == "engine":
        from foretell.bench import engine

        def progress(i: int) -> None:
            if not args.json:
                print(f"  {i:,} commands applied", file=sys.stderr)

        result = engine.run(args.commands or 1_000_000, seed=args.seed, progress=progress,
                            pool_share=args.pool_share)
    elif args.which == "journal":
        from foretell.bench import journal

        result = journal.run(args.commands or 1_000_000)
    elif args.which == "store":
        from foretell.bench import store

        result = store.run(args.commands or 100_000, seed=args.seed,
                           database_url=args.database_url)
    elif args.which == "cluster":
        from foretell.bench import cluster

        result = cluster.run(args.seconds, replicas=args.replicas,
                             database_url=args.database_url)
    else:
        from foretell.bench import api

        result = api.run(args.seconds)
    if not args.json:
        for key, value in result.items():
            print(f"{key:>26}: {value}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
