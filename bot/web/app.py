"""The FastAPI application: pages, the JSON API, login and /metrics, for one desk.

Policy: nothing but ``/login`` and ``/metrics`` answers without a session (401 with a short page
saying how to log in, and no data). Pages are static files shipped in ``bot/web/static`` that read
the API; ``/metrics`` is open on a loopback bind and otherwise needs
``Authorization: Bearer <PAPERDESK_WEB_METRICS_TOKEN>`` (401 when unset). Every response forbids
framing, sends no referrer (a login link never leaks through one) and allows scripts from this
origin only; API answers are not cached. A request naming a Host that is not ours (loopback names,
the bind address, the public URL's host) gets 400, so a page that rebinds its DNS name to this
machine cannot read the open loopback ``/metrics`` or anything else.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from importlib import resources
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.desk.desk import Desk
from bot.settings import Settings
from bot.web.api import router
from bot.web.auth import COOKIE, Auth, check_csrf, current
from bot.web.context import WebContext
from bot.web.keys import is_loopback, session_key, web_secrets
from bot.web.roles import Roles

WILDCARDS = {"0.0.0.0", "::", ""}  # noqa: S104 - names of the wildcard binds, to recognise them
STATIC_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_./-]{0,120}$")
PAGES = ("overview", "positions", "pending", "decisions", "risk", "sleeves", "llm", "backtests")
TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml",
         ".LICENSE": "text/plain"}
LOGIN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>paperdesk: log in</title></head>
<body><h1>paperdesk</h1><p>{message}</p>
<p>Ask the bot for a link with <code>/web</code> in Telegram, or run <code>paperdesk web login</code> on the desk's
machine, and open the link it gives (it works once, for 10 minutes).</p></body></html>"""
HEADERS = {"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
           "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                                      "script-src 'self'; frame-ancestors 'none'"}


def create_app(desk: Desk, settings: Settings, *, next_runs: Callable[[], Mapping[str, datetime | None]] | None = None,
               settle: Callable[[], Awaitable[None]] | None = None, key: bytes | None = None) -> FastAPI:
    """The dashboard for ``desk`` (``key``: the signing key, else ``bot.web.keys.session_key``)."""
    key = key or session_key(settings)
    app = FastAPI(title="paperdesk", version="1", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.auth = Auth(key, Roles.from_settings(settings), desk.clock)
    context = WebContext(desk=desk, settings=settings, secrets=web_secrets(settings, key))
    if next_runs is not None:
        context.next_runs = next_runs
    if settle is not None:
        context.settle = settle
    app.state.web = context
    app.include_router(router)
    _metrics(app, settings)  # before the pages: /{page} would answer /metrics
    _pages(app)
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    hosts = allowed_hosts(settings)

    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if hosts is not None and (request.url.hostname or "") not in hosts:
            return JSONResponse({"detail": "unknown Host: set PAPERDESK_WEB_PUBLIC_URL to the address you use"},
                                status_code=400)
        return _secured(request, await call_next(request))

    app.middleware("http")(headers)
    return app


def allowed_hosts(settings: Settings) -> set[str] | None:
    """The Host names we answer (a page on another name resolving here, DNS rebinding, gets 400); None: any."""
    public = urlsplit(settings.web_public_url).hostname if settings.web_public_url else None
    if settings.web_host in WILDCARDS and public is None:
        return None  # bound everywhere with no public name: any address of this machine is legitimate
    return {"127.0.0.1", "localhost", "::1", settings.web_host.strip("[]"), *([public] if public else [])}


def _secured(request: Request, response: Response) -> Response:
    response.headers.update(HEADERS)
    if request.url.path.startswith("/api/"):
        response.headers["Cache-Control"] = "no-store"
    return response


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """JSON for the API, the login page for a browser's 401 elsewhere."""
    if exc.status_code == 401 and not request.url.path.startswith(("/api/", "/metrics")):
        return HTMLResponse(LOGIN_PAGE.format(message="You are not logged in, or your session has ended."),
                            status_code=401)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def _static(name: str) -> bytes | None:
    if not STATIC_NAME.match(name) or ".." in name:
        return None
    path = resources.files("bot.web") / "static" / name
    return path.read_bytes() if path.is_file() else None


def _pages(app: FastAPI) -> None:
    auth: Auth = app.state.auth

    @app.get("/login", include_in_schema=False)
    def login(token: str = "") -> Response:
        redeemed = auth.redeem(token)
        if redeemed is None:
            return HTMLResponse(LOGIN_PAGE.format(message="This link is invalid, expired or already used."),
                                status_code=401)
        session, cookie = redeemed
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, cookie, max_age=int((session.expires - auth.clock()).total_seconds()),
                            httponly=True, samesite="strict", secure=request_is_https(app), path="/")
        return response

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request) -> Response:
        check_csrf(request, current(request))  # any role may leave, but only from our own page
        response = JSONResponse({"detail": "logged out"})
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.get("/api/openapi.json", include_in_schema=False)
    def openapi(request: Request) -> JSONResponse:
        current(request)
        return JSONResponse(app.openapi())

    @app.get("/static/{name:path}", include_in_schema=False)
    def static(request: Request, name: str) -> Response:
        current(request)
        body = _static(name)
        if body is None:
            raise HTTPException(status_code=404, detail="no such file")
        suffix = "." + name.rsplit(".", 1)[-1]
        return Response(body, media_type=TYPES.get(suffix, "application/octet-stream"),
                        headers={"Cache-Control": "private, max-age=300"})

    @app.get("/", include_in_schema=False)
    @app.get("/{page}", include_in_schema=False)
    def page(request: Request, page: str = "overview") -> Response:
        current(request)
        if page not in PAGES:
            raise HTTPException(status_code=404, detail="no such page")
        return HTMLResponse(_static("index.html") or b"")


def request_is_https(app: FastAPI) -> bool:
    """Cookies are marked Secure when the links we hand out are https."""
    context: WebContext = app.state.web
    return (context.settings.web_public_url or "").startswith("https://")


def _metrics(app: FastAPI, settings: Settings) -> None:
    context: WebContext = app.state.web
    open_bind = is_loopback(settings.web_host)
    token = settings.web_metrics_token

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        if not open_bind:
            sent = request.headers.get("Authorization", "")
            if token is None or not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
                raise HTTPException(status_code=401, detail="metrics need Authorization: Bearer "
                                                            "<PAPERDESK_WEB_METRICS_TOKEN>")
        from bot.web.metrics import exposition  # prometheus_client loads on the first scrape

        body, content_type = exposition(context.desk, next_runs=context.next_runs())
        return Response(body, media_type=content_type)
