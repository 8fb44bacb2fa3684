"""A Foretell server with real USDC on for the chain tests: `python serve_chain.py DATA PORT`.

The chain settings come from the FORETELL_CHAIN_* environment variables (as in production);
the hot wallet's key from FORETELL_CHAIN_HOT_KEY. A supervisor `root` is created first on a
new data directory. The demo and the market maker are off.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main() -> None:
    import uvicorn

    from foretell import app as app_module
    from foretell.config import ChainSettings, Settings
    from foretell.services import Services

    data, port = Path(sys.argv[1]), int(sys.argv[2])
    new = not data.exists()
    settings = Settings(host="127.0.0.1", port=port, data=data, demo=False, market_maker=False,
                        rate_per_s=100_000.0, rate_burst=100_000,
                        chain=ChainSettings.from_env(os.environ))
    if new:
        svc = Services(settings)
        try:
            svc.accounts.create_user("root", "root-password-1", role="supervisor")
        finally:
            svc.close()
    uvicorn.run(app_module.create_app(settings), host="127.0.0.1", port=port,
                log_level="warning", lifespan="on")


if __name__ == "__main__":
    main()
