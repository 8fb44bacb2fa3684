"""Settings from the environment, with embedded defaults (SQLite + file journal under ./var)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# An origin: scheme, host (name, IPv4 or [IPv6]) and optional port; no path.
PUBLIC_URL = re.compile(r"https?://(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    data: Path = Path("var")
    database_url: str = ""
    demo: bool = True  # load the demo on first start and run the demo market maker
    market_maker: bool = True
    # The demo's open markets get a liquidity pool funded by their creator (issue 16); off for
    # tests that need every demo book to start empty.
    demo_pools: bool = True
    rate_per_s: float = 200.0  # token bucket per API key / session
    rate_burst: int = 400
    signature_window_ms: int = 30_000
    session_ttl_ms: int = 7 * 24 * 3600 * 1000
    secure_cookies: bool = False  # True behind HTTPS
    ws_deflate: bool = False  # permessage-deflate costs more CPU than small JSON messages save
    # Browser origins whose WebSockets may log in with the session cookie (besides the origin
    # of the Host the request names). Empty: this host and port, localhost and 127.0.0.1.
    public_origins: tuple[str, ...] = ()
    # Cluster mode: the base URL browsers reach this gateway at ("https://gw1.example.com"),
    # announced to the other gateways so a page can move here when its own gateway dies.
    # Empty: http://host:port (the machine's name when host is a wildcard address).
    public_url: str = ""
    # The session cookie's Domain (".example.com": every gateway under it gets the cookie, so
    # a page moved to another host stays logged in). Empty: this host only (any port).
    cookie_domain: str = ""
    # Subscribe frames of anonymous WebSockets, per client IP (behind a proxy that hides the
    # client's address, all share one bucket: raise these, or pass the proxy headers on).
    ws_ip_subscribe_per_s: float = 100.0
    ws_ip_subscribe_burst: int = 400
    projector_process: bool = True  # project in a child process (False: a thread of this one)
    body_timeout_s: float = 10.0  # time to receive a request's whole body, else 408
    # Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated IPs or
    # networks, as uvicorn's forwarded_allow_ips): none by default, so a client cannot pick
    # the address its rate limits are counted under.
    trusted_proxies: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    chain: ChainSettings | None = None  # real USDC on an EVM chain; None = play money only

    @property
    def journal_dir(self) -> Path:
        return self.data / "journal"

    @property
    def allowed_origins(self) -> frozenset[str]:
        """The configured public origins, or the ones this server is reached at by default."""
        if self.public_origins:
            return frozenset(o.strip().rstrip("/").lower() for o in self.public_origins
                             if o.strip())
        host = f"[{self.host}]" if ":" in self.host else self.host
        schemes = ("http", "https") if self.secure_cookies else ("http",)
        return frozenset(f"{scheme}://{h}:{self.port}" for scheme in schemes
                         for h in (host.lower(), "localhost", "127.0.0.1"))

    @property
    def public_base_url(self) -> str:
        """`public_url` without a trailing slash, or http://host:port."""
        if self.public_url:
            return self.public_url.strip().rstrip("/")
        host = self.host
        if host in ("", "0.0.0.0", "::"):  # noqa: S104 - naming the wildcard, not binding it
            import socket

            host = socket.getfqdn()
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

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
            "demo_pools": env.get("FORETELL_DEMO_POOLS", "1") not in ("0", "false", "no"),
            "secure_cookies": env.get("FORETELL_SECURE_COOKIES", "0") in ("1", "true", "yes"),
            "rate_per_s": float(env.get("FORETELL_RATE_PER_S", cls.rate_per_s)),
            "rate_burst": int(env.get("FORETELL_RATE_BURST", cls.rate_burst)),
            "ws_deflate": env.get("FORETELL_WS_DEFLATE", "0") in ("1", "true", "yes"),
            "public_origins": tuple(o for o in env.get("FORETELL_PUBLIC_ORIGINS", "").split(",")
                                    if o.strip()),
            "ws_ip_subscribe_per_s": float(env.get("FORETELL_WS_IP_SUBSCRIBE_PER_S",
                                                   cls.ws_ip_subscribe_per_s)),
            "ws_ip_subscribe_burst": int(env.get("FORETELL_WS_IP_SUBSCRIBE_BURST",
                                                 cls.ws_ip_subscribe_burst)),
            "projector_process": env.get("FORETELL_PROJECTOR", "process") != "thread",
            "body_timeout_s": float(env.get("FORETELL_BODY_TIMEOUT_S", cls.body_timeout_s)),
            "trusted_proxies": env.get("FORETELL_TRUSTED_PROXIES", "").strip(),
            "public_url": env.get("FORETELL_PUBLIC_URL", "").strip(),
            "cookie_domain": env.get("FORETELL_COOKIE_DOMAIN", "").strip(),
        }
        values["chain"] = ChainSettings.from_env(env)
        values.update(overrides)
        settings = cls(**values)  # type: ignore[arg-type]
        if settings.public_url and not PUBLIC_URL.fullmatch(settings.public_base_url):
            raise ValueError("FORETELL_PUBLIC_URL takes a scheme, a host and a port only, "
                             f"like https://gw1.example.com:8443 (not {settings.public_url!r})")
        return settings


@dataclass(frozen=True)
class ChainSettings:
    """Real USDC on an EVM chain (see the README's "Real USDC"). On when FORETELL_CHAIN_RPC_URL
    is set. The hot wallet's key is never held here, only where to read it from (a file, or an
    environment variable), so printing the settings never shows it."""

    rpc_url: str
    chain_id: int
    token: str  # the USDC contract
    factory: str  # DepositFactory: per-account CREATE2 deposit addresses
    token_decimals: int = 6  # must be 6: one token unit is one micro-USDC
    confirmations: int = 12
    hot_key_file: Path | None = None
    hot_key_env: str = "FORETELL_CHAIN_HOT_KEY"
    withdrawal_min_micro: int = 1_000_000
    withdrawal_max_micro: int = 100_000 * 1_000_000  # per request
    withdrawal_daily_max_micro: int = 250_000 * 1_000_000  # per account, rolling 24 h
    approval_above_micro: int = 10_000 * 1_000_000  # larger requests wait for a supervisor
    sweep_min_micro: int = 1_000_000  # deposit addresses holding less are left alone
    poll_s: float = 2.0
    start_block: int = -1  # first block the watcher reads when it has no cursor; -1 = head
    gas_limit_transfer: int = 100_000
    gas_limit_sweep: int = 300_000
    reorg_depth_max: int = 256  # block hashes kept to find where a reorg forked

    def __post_init__(self) -> None:
        if self.token_decimals != 6:
            raise ValueError("the token must have 6 decimals (one unit = one micro-USDC), "
                             f"not {self.token_decimals}")
        if self.confirmations < 1:
            raise ValueError("confirmations must be at least 1")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ChainSettings | None:
        url = env.get("FORETELL_CHAIN_RPC_URL", "")
        if not url:
            return None
        micro = 1_000_000
        values: dict[str, Any] = {
            "rpc_url": url,
            "chain_id": int(env["FORETELL_CHAIN_ID"]),
            "token": env["FORETELL_CHAIN_TOKEN"],
            "factory": env["FORETELL_CHAIN_FACTORY"],
        }
        ints = {"token_decimals": ("FORETELL_CHAIN_TOKEN_DECIMALS", 1),
                "confirmations": ("FORETELL_CHAIN_CONFIRMATIONS", 1),
                "start_block": ("FORETELL_CHAIN_START_BLOCK", 1),
                "withdrawal_min_micro": ("FORETELL_CHAIN_WITHDRAWAL_MIN_USDC", micro),
                "withdrawal_max_micro": ("FORETELL_CHAIN_WITHDRAWAL_MAX_USDC", micro),
                "withdrawal_daily_max_micro": ("FORETELL_CHAIN_WITHDRAWAL_DAILY_MAX_USDC", micro),
                "approval_above_micro": ("FORETELL_CHAIN_APPROVAL_ABOVE_USDC", micro),
                "sweep_min_micro": ("FORETELL_CHAIN_SWEEP_MIN_USDC", micro)}
        for name, (key, scale) in ints.items():
            if key in env:
                values[name] = int(env[key]) * scale  # whole USDC: no decimals, no floats
        if "FORETELL_CHAIN_POLL_S" in env:
            values["poll_s"] = float(env["FORETELL_CHAIN_POLL_S"])
        if env.get("FORETELL_CHAIN_HOT_KEY_FILE"):
            values["hot_key_file"] = Path(env["FORETELL_CHAIN_HOT_KEY_FILE"])
        return cls(**values)

    def hot_key(self) -> str:
        """The hot wallet's private key (hex), read from its source each time it is needed."""
        if self.hot_key_file is not None:
            return self.hot_key_file.read_text().strip()
        key = os.environ.get(self.hot_key_env, "").strip()
        if not key:
            raise ValueError(f"no hot wallet key: set {self.hot_key_env} or "
                             "FORETELL_CHAIN_HOT_KEY_FILE")
        return key
