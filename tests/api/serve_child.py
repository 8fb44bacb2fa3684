"""Run a real Foretell server for the API tests: `python serve_child.py DATA PORT [options]`.

A separate process, so the tests talk to it only over loopback HTTP and WebSocket, exactly as
a client would. Before the server starts, a supervisor is created through `Services` on the same
data directory (as `foretell admin create-supervisor` does), then the service is closed. Options
shorten the periodic work so the tests need not wait for it.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("port", type=int)
    parser.add_argument("--supervisor", default="", help="username:password to create first")
    parser.add_argument("--heartbeat-s", type=float, default=0.5)
    parser.add_argument("--rate-per-s", type=float, default=100_000.0)
    parser.add_argument("--rate-burst", type=int, default=100_000)
    parser.add_argument("--body-timeout-s", type=float, default=10.0)
    args = parser.parse_args()

    import uvicorn

    from foretell import app as app_module
    from foretell.config import Settings
    from foretell.services import Services

    settings = Settings(host="127.0.0.1", port=args.port, data=args.data, demo=False,
                        market_maker=False, rate_per_s=args.rate_per_s,
                        rate_burst=args.rate_burst, body_timeout_s=args.body_timeout_s)
    if args.supervisor:
        username, password = args.supervisor.split(":", 1)
        svc = Services(settings)
        try:
            svc.accounts.create_user(username, password, role="supervisor")
        finally:
            svc.close()
    app_module.heartbeat_interval_s = args.heartbeat_s
    # Idle connections stay open a minute (uvicorn's default is 5 s): the tests share one
    # keep-alive client, and on a loaded machine a pause between two requests of a test could
    # meet the server closing the connection ("Server disconnected without sending a response").
    uvicorn.run(app_module.create_app(settings), host="127.0.0.1", port=args.port,
                log_level="warning", lifespan="on", timeout_keep_alive=60,
                **app_module.server_options(settings))


if __name__ == "__main__":
    main()
