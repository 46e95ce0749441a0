"""The ASGI app (`uvicorn api.main:app`, or `python -m api`): routes, error answers, request log.

Every error answers `{"error": "<plain message>"}` with its status: 401 no or bad token, 403 role,
404 unknown id, 409 conflict, 413 file too large, 422 bad input (the message names the field), 429
too many login or registration attempts from one address (with Retry-After).
Never a stack trace: an unexpected error is logged and answers 500 with a plain message.
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

import core
from api import auth, customers, deps, indicators, loads, monitoring, services
from core import accounts, loading, records, telemetry, throttle, tokens
from core.indicators import CalendarError

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
    if exc.status_code == 404 and message == "Not Found":
        message = f"There is no route {request.method} {request.url.path}; see /docs."
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}; see /docs."
    return error(exc.status_code, message, getattr(exc, "headers", None))


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


# Core's plain-language errors, most specific first: (exception, status).
_CORE_ERRORS = [
    (accounts.LoginFailed, 401),
    (accounts.PermissionDenied, 403),
    (records.NotFound, 404),
    (records.IdTaken, 409),
    (records.EmailTaken, 409),
    (records.CustomerHasServices, 409),
    (accounts.UsernameTaken, 409),
    (records.RecordError, 422),
    (accounts.AccountError, 422),
    (loading.LoadError, 422),
    (CalendarError, 422),
    (tokens.TokenError, 401),
]


def _core_handler(status: int):
    async def handle(request: Request, exc: Exception):
        return error(status, str(exc))
    return handle


for exc_type, status in _CORE_ERRORS:
    app.add_exception_handler(exc_type, _core_handler(status))


@app.exception_handler(throttle.Throttled)
async def throttled(request: Request, exc: throttle.Throttled):
    return error(429, str(exc), {"Retry-After": str(exc.retry_after)})


@app.exception_handler(Exception)
async def unexpected(request: Request, exc: Exception):
    log.exception("unexpected error on %s %s", request.method, _route(request.scope))
    return error(500, "Something went wrong on the server; it was logged. Try again, or tell an admin.")


# --- request log and upload limit -----------------------------------------------------------------

def _route(scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "(no route)"


class RequestLog:
    """One JSON line and one timing per request: method, route template, status, ms, user.

    Also answers 413 before reading the body when a batch upload's Content-Length is over
    UPLOAD_MAX_MB (a body sent without it is measured as it is spooled, see api/loads.py)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500

        async def send_and_note(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if scope["method"] == "POST" and scope["path"].endswith("/batch") and self._too_large(scope):
                limit = deps.settings().upload_max_mb
                await error(413, f"The file is larger than {limit} MB (UPLOAD_MAX_MB).")(scope, receive, send_and_note)
                return
            await self.app(scope, receive, send_and_note)
        finally:
            user = (scope.get("state") or {}).get("username")
            telemetry.record_timing(f"{monitoring.ROUTE_PREFIX}{scope['method']} {_route(scope)}",
                                    time.perf_counter() - started, logger=log,
                                    outcome="ok" if status < 500 else f"http {status}", method=scope["method"],
                                    route=_route(scope), status=status, user=user)

    @staticmethod
    def _too_large(scope) -> bool:
        length = dict(scope.get("headers") or ()).get(b"content-length")
        return length is not None and length.isdigit() and int(length) > deps.settings().upload_max_mb * 1_000_000


app.add_middleware(RequestLog)
