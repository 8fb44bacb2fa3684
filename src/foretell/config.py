"""Settings from the environment, with embedded defaults (SQLite + file journal under ./var)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    data: Path = Path("var")
    database_url: str = ""
    demo: bool = True  # load the demo on first start and run the demo market maker
    market_maker: bool = True
    rate_per_s: float = 200.0  # token bucket per API key / session
    rate_burst: int = 400
    signature_window_ms: int = 30_000
    session_ttl_ms: int = 7 * 24 * 3600 * 1000
    secure_cookies: bool = False  # True behind HTTPS
    ws_deflate: bool = False  # permessage-deflate costs more CPU than small JSON messages save
    projector_process: bool = True  # project in a child process (False: a thread of this one)
    body_timeout_s: float = 10.0  # time to receive a request's whole body, else 408
    # Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated IPs or
    # networks, as uvicorn's forwarded_allow_ips): none by default, so a client cannot pick
    # the address its rate limits are counted under.
    trusted_proxies: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def journal_dir(self) -> Path:
        return self.data / "journal"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data / 'foretell.db').resolve()}"

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env = os.environ
        values: dict[str, object] = {
            "host": env.get("FORETELL_HOST", cls.host),
            "port": int(env.get("FORETELL_PORT", cls.port)),
            "data": Path(env.get("FORETELL_DATA", "var")),
            "database_url": env.get("FORETELL_DATABASE_URL", ""),
            "demo": env.get("FORETELL_DEMO", "1") not in ("0", "false", "no"),
            "market_maker": env.get("FORETELL_MARKET_MAKER", "1") not in ("0", "false", "no"),
            "secure_cookies": env.get("FORETELL_SECURE_COOKIES", "0") in ("1", "true", "yes"),
            "rate_per_s": float(env.get("FORETELL_RATE_PER_S", cls.rate_per_s)),
            "rate_burst": int(env.get("FORETELL_RATE_BURST", cls.rate_burst)),
            "ws_deflate": env.get("FORETELL_WS_DEFLATE", "0") in ("1", "true", "yes"),
            "projector_process": env.get("FORETELL_PROJECTOR", "process") != "thread",
            "body_timeout_s": float(env.get("FORETELL_BODY_TIMEOUT_S", cls.body_timeout_s)),
            "trusted_proxies": env.get("FORETELL_TRUSTED_PROXIES", "").strip(),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
