"""What every route needs: settings, the engine, the caller (bearer token or API key) and its role."""
from __future__ import annotations

import functools
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any, Callable, Iterator, TypeVar

from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Connection, Engine

from api.schemas import MAX_ID, Error
from core import accounts, operation_day, records, tokens
from core.accounts import Actor
from core.config import Settings, load_settings
from core.prestart import prestart

T = TypeVar("T")
# ids are PostgreSQL bigints: a larger one is bad input (422), never a database error
RecordId = Annotated[int, Path(ge=1, le=MAX_ID, description="The record's id.")]

# auto_error=False: a missing header is answered by us with the product's {"error": ...} shape.
_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <access token or API key>`")


@functools.cache
def settings() -> Settings:
    return load_settings()


@functools.cache
def engine() -> Engine:
    """The process-wide engine: database reached, schema migrated, first admin present."""
    return prestart(settings())


def today() -> date:
    """The operation's today (core.operation_day.today, in TIMEZONE): what statuses are as of."""
    return operation_day.today(settings())


@contextmanager
def connection(*, write: bool = False) -> Iterator[Connection]:
    """A connection to the database, in one transaction when `write`."""
    with (engine().begin() if write else engine().connect()) as conn:
        yield conn


def read(fn: Callable[..., T], **kwargs: Any) -> T:
    """Call a core read function `fn(conn, **kwargs)`."""
    with connection() as conn:
        return fn(conn, **kwargs)


def write(fn: Callable[..., T], **kwargs: Any) -> T:
    """Call a core write function `fn(conn, **kwargs)` in one transaction."""
    with connection(write=True) as conn:
        return fn(conn, **kwargs)


def found(record: T | None, missing: str, id: int) -> T:
    """`record`, or core's NotFound (404) with core's text for it: records.NO_CUSTOMER, NO_SERVICE."""
    if record is None:
        raise records.NotFound(missing, id=id)
    return record


def client_address(request: Request) -> str:
    """The caller's address, for the login throttle (uvicorn already took X-Forwarded-For from a
    trusted proxy, see api/__main__.py)."""
    return request.client.host if request.client else "unknown"


def unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def bearer_token(credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> str:
    if credentials is None or not credentials.credentials:
        raise unauthorized("Log in first: send `Authorization: Bearer <access token or API key>`.")
    return credentials.credentials


def caller(request: Request, token: str = Depends(bearer_token)) -> Actor:
    """Who is calling: the user of an access token, or an API key's actor. 401 otherwise.

    The user row is read on every request, so a deactivation, a password or role change ends
    every token at once (core.tokens checks the session epoch)."""
    if token.startswith(accounts.API_KEY_PREFIX):
        actor = write(accounts.actor_from_api_key, key=token)  # notes the key's last use
        if actor is None:
            raise unauthorized("This API key is not valid or was revoked.")
    else:
        try:
            actor = read(tokens.user_from_token, token=token, kind="access", settings=settings()).actor
        except tokens.TokenError as exc:
            raise unauthorized(str(exc)) from None
    request.state.username = actor.username  # for the request log
    return actor


def role(needed: str) -> Callable[..., Actor]:
    """Dependency: the caller, if their role is at least `needed` (403 otherwise)."""

    def check(actor: Actor = Depends(caller)) -> Actor:
        accounts.require(actor, needed)  # PermissionDenied: 403 with core's text
        return actor

    check.__name__ = f"require_{needed}"
    return check


viewer = role("viewer")
analyst = role("analyst")
admin = role("admin")


# --- shared answers -------------------------------------------------------------------------------

# code: (when, an example answer)
_ERRORS = {
    401: ("No token, an expired or revoked one, or a bad API key; on /v1/auth, a wrong password.",
          "The token has expired."),
    403: ("The caller's role does not allow this; on /v1/auth/login, a password that must be changed first.",
          "This action needs the analyst role."),
    404: ("No such record.", "There is no service 57884."),
    409: ("Conflicts with what exists (id or email taken, customer still has services...).",
          "The email teste1@gmail.com is already used by customer 2."),
    413: ("The body is larger than 64 KB (a batch route's file: than UPLOAD_MAX_MB).",
          "The file is larger than 200 MB (UPLOAD_MAX_MB)."),
    422: ("Invalid body or query; the message names the field.",
          "start_date: Input should be a valid date or datetime, day value is outside expected range "
          "for month (got '2022-02-30')"),
    429: ("Too many login or registration attempts from this client address; wait Retry-After seconds.",
          "Too many attempts from your address; wait 42 s and try again."),
    503: ("A health check failed (e.g. the database cannot be reached).", "failing"),
}


def errors(*codes: int, examples: dict[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error codes, each answering {"error": "..."}, with an example
    (the shared one, or the route's own from `examples`)."""
    examples = examples or {}
    return {code: {"model": Error, "description": _ERRORS[code][0],
                   "content": {"application/json": {"example": {"error": examples.get(code, _ERRORS[code][1])}}}}
            for code in codes}


class Paging:
    """The paging query of every list: `limit`, the keyset cursor `after`, the original's `offset`."""

    def __init__(
        self,
        limit: int = Query(30, ge=1, le=records.MAX_PAGE_SIZE,
                           description=f"Rows per page (1-{records.MAX_PAGE_SIZE}, default 30)."),
        after: int | None = Query(None, ge=0, le=MAX_ID, description="Keyset cursor: rows with an id above "
                                                                     "this (proxima_pagina carries it)."),
        offset: int = Query(0, ge=0, le=MAX_ID, description="Rows to skip, for the original's clients; slow when deep: "
                                                 "follow proxima_pagina instead."),
    ):
        self.limit, self.after, self.offset = limit, after, offset

    def read(self, list_rows: Callable[..., list], filters, **more_kwargs) -> tuple[list, bool]:
        """One page of `list_rows(conn, filters=..., after=..., limit=..., **more_kwargs)` and whether
        more follow."""
        with connection() as conn:
            rows = list_rows(conn, filters=filters, after=self.after, offset=self.offset, limit=self.limit,
                             **more_kwargs)
            more = len(rows) == self.limit and bool(list_rows(conn, filters=filters, after=rows[-1].id, limit=1,
                                                             **more_kwargs))
        return rows, more


def next_page(request: Request, rows: list, has_more: bool) -> str | None:
    """URL of the next page: the same query with the keyset cursor `after` (and no offset)."""
    if not rows or not has_more:
        return None
    query = {k: v for k, v in request.query_params.items() if k not in ("after", "offset")}
    query["after"] = str(rows[-1].id)
    return str(request.url.replace_query_params(**query))
