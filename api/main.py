"""The ASGI app (`uvicorn api.main:app`, or `python -m api`): routes, error answers, request log.

Every error answers `{"error": "<plain message>"}` with its status: 401 no or bad token, 403 role,
404 unknown id or route, 405 method (with an Allow header listing every method of the path), 409
conflict, 413 body or file too large, 422 bad input (the message names the field), 429 too many
login or registration attempts from one address (with Retry-After).
Never a stack trace: an unexpected error is logged and answers 500 with a plain message.
Every answer carries the security headers of `security_headers` (docs/security.md).
"""
from __future__ import annotations

import json
import logging
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi_offline import FastAPIOffline
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

import core
from api import auth, customers, deps, indicators, loads, monitoring, services
from api.bodies import UNREADABLE_BODY, BodyLimit
from core import loading, telemetry, throttle
from core.messages import TextError

log = logging.getLogger("core.api")

DESCRIPTION = """\
The logistics indicators product's HTTP API: register and correct customers and services, load the
operation's CSV files, and read the three indicators (productivity per Green Angel, SLA per polo,
SLA per Green Angel) with the product's definitions.

It keeps the original Flask API's routes, keys and formats, so its clients keep working, and adds
the product's own fields beside them.

**Auth**: `POST /v1/auth/login` gives an access token (short-lived) and a refresh token; send
`Authorization: Bearer <access token>`. Machine clients use an API key an admin created (Users page
or `python -m core users key create`), sent the same way. Roles: viewer reads, analyst creates,
corrects and loads, admin also deletes and reads /v1/metrics.
"""


@asynccontextmanager
async def lifespan(app: FastAPI):
    settings = deps.settings()
    telemetry.configure_logging(settings.log_level)
    loading.start_spool_cleaner(deps.engine(), settings=settings)  # reach and migrate the database first; clean uploads on a timer
    telemetry.persist_timings(settings, source="api")
    yield
    telemetry.flush_timings()


# /docs and /redoc load their scripts from this server, not a CDN (installs often have no internet).
app = FastAPIOffline(title="Logistics indicators API", version=core.__version__, description=DESCRIPTION,
                     lifespan=lifespan)
for module in (auth, customers, services, loads, indicators, monitoring):
    app.include_router(module.router)


# --- error answers --------------------------------------------------------------------------------

def error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


@app.exception_handler(StarletteHTTPException)
async def http_error(request: Request, exc: StarletteHTTPException):
    message = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
    headers = getattr(exc, "headers", None)
    if exc.status_code == 400:  # FastAPI's "error parsing the body": not UTF-8 JSON (api/bodies.py)
        return error(422, UNREADABLE_BODY)
    if exc.status_code == 404 and message == "Not Found":
        message = f"There is no route {request.method} {request.url.path}; see /docs."
    elif exc.status_code == 405:
        allowed = _allowed_methods(request.scope)
        message = f"{request.method} is not allowed on {request.url.path} (only {', '.join(allowed)}); see /docs."
        headers = {**(headers or {}), "Allow": ", ".join(allowed)}
    return error(exc.status_code, message, headers)


def _allowed_methods(scope) -> list[str]:
    """Every method some route serves on the request's path (Starlette's own 405 names only the
    first route's), found by asking the routes as the router does."""
    return [method for method in ("DELETE", "GET", "PATCH", "POST", "PUT")
            if any(route.matches({**scope, "method": method})[0] == Match.FULL for route in app.router.routes)]


def _field(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


@app.exception_handler(RequestValidationError)
async def invalid_request(request: Request, exc: RequestValidationError):
    problems = []
    for e in exc.errors():
        text = e.get("msg", "invalid").removeprefix("Value error, ")
        given = e.get("input")
        shown = f" (got {given!r})" if isinstance(given, (str, int, float)) and len(str(given)) <= 80 else ""
        problems.append(f"{_field(tuple(e.get('loc', ())))}: {text}{shown}")
    return error(422, "; ".join(problems) or "The request is not valid.")


@app.exception_handler(TextError)
async def refused(request: Request, exc: TextError):
    """Core's refusals: each error class says its answer's status (http_status: 404 a missing record,
    409 a conflict, 403 a role, 429 too many attempts with Retry-After... else 422) and its message."""
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, throttle.Throttled) else None
    return error(exc.http_status, str(exc), headers)


@app.exception_handler(Exception)
async def unexpected(request: Request, exc: Exception):
    log.exception("unexpected error on %s %s", request.method, _route(request.scope))
    # Starlette answers this outside the middlewares: the security headers are added here.
    return error(500, "Something went wrong on the server; it was logged. Try again, or tell an admin.",
                 dict(security_headers(request.scope)))


# --- request log, body limits, security headers ---------------------------------------------------

def _route(scope) -> str:
    route = scope.get("route")  # its template as /docs shows it (no path convertor: {id}, not {id:record})
    return getattr(route, "path_format", None) or getattr(route, "path", None) or "(no route)"


HSTS_SECONDS = 365 * 24 * 3600


def security_headers(scope) -> list[tuple[str, str]]:
    """The headers every answer carries: no MIME sniffing, never in a frame (X-Frame-Options for old
    browsers, CSP frame-ancestors for the others), no referrer; `Cache-Control: no-store` on /v1/
    (tokens, personal data: nothing the API answers may be kept by a browser or a proxy); HSTS when
    the request came over HTTPS (uvicorn's --ssl, or a trusted proxy's X-Forwarded-Proto)."""
    headers = [("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
               ("Content-Security-Policy", "frame-ancestors 'none'"), ("Referrer-Policy", "no-referrer")]
    if scope["path"].startswith("/v1/"):
        headers.append(("Cache-Control", "no-store"))
    if scope.get("scheme") == "https":
        headers.append(("Strict-Transport-Security", f"max-age={HSTS_SECONDS}"))
    return headers


class RequestLog:
    """One JSON line and one timing per request: method, route template, status, ms, user; and the
    security headers on every answer."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500
        extra = [(k.lower().encode(), v.encode()) for k, v in security_headers(scope)]

        async def send_and_note(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                names = {k.lower() for k, _ in message.get("headers", [])}
                message = {**message, "headers": [*message.get("headers", []),
                                                  *((k, v) for k, v in extra if k not in names)]}
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            user = (scope.get("state") or {}).get("username")
            telemetry.record_timing(f"{monitoring.ROUTE_PREFIX}{scope['method']} {_route(scope)}",
                                    time.perf_counter() - started, logger=log,
                                    outcome="ok" if status < 500 else f"http {status}", method=scope["method"],
                                    route=_route(scope), status=status, user=user)


app.add_middleware(BodyLimit, settings=lambda: deps.settings())  # read per request (tests change it)
app.add_middleware(RequestLog)  # outermost: logs and marks every answer, the body limit's 413s too
