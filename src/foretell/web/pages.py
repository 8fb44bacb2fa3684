"""HTML pages of the web trading interface, and the static files they load.

Every page is a Jinja2 shell: the route passes only what the URL holds (a market's id or slug, a
`next` link) and the browser fetches every number from the public API, REST under `/api/v1` and
the WebSocket `/api/v1/ws`, exactly as any other client would. That keeps one source of truth
for prices and balances and lets the pages be cached by the service worker without ever showing
a stale number as if it were live.

Wiring (done by the app factory):
    app.include_router(foretell.web.pages.router)
    foretell.web.pages.mount_static(app)

Third-party browser libraries (htmx, lightweight-charts) are not committed: `scripts/build-web.sh`
installs them from the npm registry and copies their dist files into `static/vendor/`.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from foretell.api.auth import SESSION_COOKIE
from foretell.config import PUBLIC_URL

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"
VENDOR_FILES = ("vendor/htmx.min.js", "vendor/lightweight-charts.standalone.production.js",
                "vendor/swagger-ui-bundle.js", "vendor/swagger-ui.css")
_MARKET_REF = re.compile(r"^(\d{1,12}|[a-z0-9][a-z0-9\-]{0,99})$")
_SAFE_NEXT = re.compile(r"^/[A-Za-z0-9_\-/]{0,200}$")


@dataclass(frozen=True, slots=True)
class ConsoleSection:
    """One section of the operator console: a template partial and who may see it.

    The creator console and news posting plug in here later as more sections (with their own
    partial under `templates/console/` and script under `static/js/`), without touching the
    existing ones.
    """

    key: str
    title: str
    template: str
    roles: tuple[str, ...] = ("supervisor",)


CONSOLE_SECTIONS: tuple[ConsoleSection, ...] = (
    ConsoleSection("accounts", "Accounts and USDC", "console/accounts.html"),
    ConsoleSection("funding", "Real USDC", "console/funding.html"),
    ConsoleSection("markets", "Markets", "console/markets.html"),
    ConsoleSection("create", "Create market", "console/create_market.html"),
    ConsoleSection("audit", "Audit", "console/audit.html"),
    ConsoleSection("applications", "Creator applications", "console/applications.html"),
    ConsoleSection("review", "Review queue", "console/review.html"),
    ConsoleSection("disputes", "Dispute queue", "console/disputes.html"),
    ConsoleSection("creator", "Creator", "console/creator.html", roles=("trader", "creator")),
)

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
_asset_versions: dict[str, tuple[float, str]] = {}


def asset(path: str) -> str:
    """URL of a static file with a content hash, so browsers never run a stale script."""
    file = STATIC_DIR / path
    try:
        mtime = file.stat().st_mtime
    except OSError:
        return f"/static/{path}"
    cached = _asset_versions.get(path)
    if cached is None or cached[0] != mtime:
        digest = hashlib.sha256(file.read_bytes()).hexdigest()[:12]
        cached = (mtime, digest)
        _asset_versions[path] = cached
    return f"/static/{path}?v={cached[1]}"


templates.env.globals["asset"] = asset
templates.env.globals["console_sections"] = CONSOLE_SECTIONS


def _csp(request: Request, gateways: list[str] | None = None) -> str:
    host = request.url.netloc
    # Cluster mode: the page may ask the other gateways whether they answer before it moves
    # to one of them (GET /api/v1/time, no cookies).
    peers = "".join(f" {url}" for url in gateways or ())
    return "; ".join((
        "default-src 'self'",
        "script-src 'self'",
        # lightweight-charts sizes its canvases through style attributes.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        f"connect-src 'self' ws://{host} wss://{host}{peers}",
        "manifest-src 'self'",
        "worker-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ))


def _page(request: Request, template: str, title: str, page: str, status_code: int = 200,
          **context: Any) -> HTMLResponse:
    # Whether the browser sent a session cookie (it is HttpOnly, so the page's script cannot
    # see it): without one the page knows it is anonymous and does not probe GET /account,
    # which would answer 401 and log an error in the console.
    # Whether real USDC is on (`foretell.chain.runner.start` sets `app.state.funding`): without
    # it the nav has no Deposit and Withdraw links and those pages say so and ask the API
    # nothing (its funding endpoints answer 404 funding_disabled on a play-money exchange).
    # In cluster mode the live gateways (html[data-gateways]): where the page's script moves
    # when its own gateway dies (ft.js, "cluster mode"); a single node renders none.
    gateways = _gateways(request)
    response = templates.TemplateResponse(request, template, {
        "title": title, "page": page, "has_session": SESSION_COOKIE in request.cookies,
        "funding_on": _funding_on(request), "gateways": gateways, **context},
        status_code=status_code)
    response.headers["Content-Security-Policy"] = _csp(request, gateways)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-cache"
    return response


def _gateways(request: Request) -> list[str] | None:
    """The live gateways' base URLs when this is a cluster gateway, else None."""
    svc = getattr(request.app.state, "service", None)
    if svc is None or not svc.node.clustered:
        return None
    return [url for url in svc.node.gateways() if PUBLIC_URL.fullmatch(url)]


def _funding_on(request: Request) -> bool:
    return getattr(request.app.state, "funding", None) is not None


def _next(request: Request) -> str:
    target = request.query_params.get("next", "/")
    return target if _SAFE_NEXT.match(target) and not target.startswith("//") else "/"


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return _page(request, "home.html", "Markets", "home")


@router.get("/markets", response_class=HTMLResponse)
def markets(request: Request) -> HTMLResponse:
    return _page(request, "markets.html", "All markets", "markets")


@router.get("/news", response_class=HTMLResponse)
def news(request: Request) -> HTMLResponse:
    return _page(request, "news.html", "News", "news")


@router.get("/news/{news_id}", response_class=HTMLResponse)
def news_item(request: Request, news_id: str) -> Response:
    if not re.fullmatch(r"\d{1,12}", news_id):
        return not_found(request)
    return _page(request, "news_item.html", "News", "news-item", news_id=int(news_id))


@router.get("/markets/{ref}", response_class=HTMLResponse)
def market(request: Request, ref: str) -> Response:
    if not _MARKET_REF.match(ref):
        return not_found(request)
    return _page(request, "market.html", "Market", "market", market_ref=ref)


@router.get("/portfolio", response_class=HTMLResponse)
def portfolio(request: Request) -> HTMLResponse:
    return _page(request, "portfolio.html", "Portfolio", "portfolio")


@router.get("/account", response_class=HTMLResponse)
def account(request: Request) -> HTMLResponse:
    return _page(request, "account.html", "Account and API keys", "account")


@router.get("/deposit", response_class=HTMLResponse)
def deposit(request: Request) -> HTMLResponse:
    return _page(request, "deposit.html", "Deposit USDC", "deposit")


@router.get("/withdraw", response_class=HTMLResponse)
def withdraw(request: Request) -> HTMLResponse:
    return _page(request, "withdraw.html", "Withdraw USDC", "withdraw")


@router.get("/login", response_class=HTMLResponse)
def login(request: Request) -> HTMLResponse:
    return _page(request, "auth.html", "Log in", "login", mode="login", next=_next(request))


@router.get("/signup", response_class=HTMLResponse)
def signup(request: Request) -> HTMLResponse:
    return _page(request, "auth.html", "Sign up", "signup", mode="signup", next=_next(request))


@router.get("/console", response_class=HTMLResponse)
def console(request: Request) -> HTMLResponse:
    # Whether real USDC is configured: without it the funding section says so and asks the
    # API nothing (its endpoints answer 404 funding_disabled on a play-money exchange).
    funding_on = getattr(request.app.state, "funding", None) is not None
    return _page(request, "console.html", "Console", "console", funding_on=funding_on)


@router.get("/offline", response_class=HTMLResponse)
def offline(request: Request) -> HTMLResponse:
    return _page(request, "offline.html", "Offline", "offline")


@router.get("/manifest.webmanifest")
def manifest() -> FileResponse:
    return FileResponse(STATIC_DIR / "manifest.webmanifest",
                        media_type="application/manifest+json")


@router.get("/sw.js")
def service_worker() -> FileResponse:
    # Served from the root so its scope covers every page.
    return FileResponse(STATIC_DIR / "js" / "sw.js", media_type="text/javascript",
                        headers={"Cache-Control": "no-cache"})


@router.get("/favicon.ico")
def favicon() -> RedirectResponse:
    return RedirectResponse("/static/icons/icon.svg", status_code=308)


_API_DOCS = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Foretell API</title>
<link rel="icon" href="/static/icons/icon.svg">
<link rel="stylesheet" href="/static/vendor/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/static/vendor/swagger-ui-bundle.js"></script>
<script src="/static/js/api-docs.js"></script>
</body>
</html>
"""


@router.get("/docs", include_in_schema=False)
def api_docs(request: Request) -> HTMLResponse:
    """Swagger UI for /openapi.json, from this server's own static files (no CDN), under the
    same Content-Security-Policy as every page."""
    response = HTMLResponse(_API_DOCS)
    response.headers["Content-Security-Policy"] = _csp(request)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def not_found(request: Request) -> HTMLResponse:
    """The HTML "not found" page, with status 404."""
    return _page(request, "not_found.html", "Page not found", "not-found", status_code=404)


def _unknown_page(request: Request, path: str) -> Response:
    # Only page addresses get the HTML page: the API keeps its JSON error body.
    if path.startswith(("api/", "static/")) or path == "api":
        return JSONResponse({"error": {"code": "not_found", "message": "Not Found",
                                       "details": None}}, status_code=404)
    return not_found(request)


def mount_static(app: FastAPI) -> None:
    """Serve `/static` from this package; warn once if the vendor files were never built.
    Last of all, any other GET answers the HTML 404 page (the route is added after every other
    route and mount, so it only sees addresses nothing else matched)."""
    missing = [f for f in VENDOR_FILES if not (STATIC_DIR / f).is_file()]
    if missing:
        log.warning("web vendor files missing (%s): run scripts/build-web.sh",
                    ", ".join(missing))
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.add_api_route("/{path:path}", _unknown_page, methods=["GET"], include_in_schema=False,
                      response_class=HTMLResponse)
