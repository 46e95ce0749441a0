"""/v1/auth: register, log in, refresh. The same users, roles, lockout and audit as the dashboard."""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request

from api import deps
from api.deps import errors
from api.schemas import AccessToken, Login, Register, Tokens, UserOut
from core import accounts, throttle, tokens

router = APIRouter(prefix="/v1/auth", tags=["Auth"])
LOGIN_FAILED = ("Wrong username or password, or the account is locked or deactivated. After too many "
                "failures an account locks for a while; an admin can unlock it.")


def _user_out(user: accounts.User) -> dict:
    return {"id": user.id, "username": user.username, "email": user.email, "role": user.role}


@router.post("/register", status_code=201, summary="Register as a viewer", response_model=UserOut,
             responses=errors(403, 409, 422, 429))
def register(body: Register, request: Request):
    """Create a viewer account; only when ALLOW_SIGNUP=true (403 otherwise). A taken username is 409.
    Registrations are throttled per client address (429 with Retry-After)."""
    settings = deps.settings()
    if not settings.allow_signup:
        raise HTTPException(403, "Self-registration is off (ALLOW_SIGNUP=false); ask an admin for an account.")
    throttle.check_signup(settings, address=deps.client_address(request))
    user = deps.write(accounts.create_user, actor=None, username=body.username, password=body.password,
                      role="viewer", email=body.email, rounds=settings.password_hash_rounds)
    return _user_out(user)


def _login(conn, *, body: Login) -> accounts.User | None:
    if not accounts.verify_login(conn, username=body.username, password=body.password, settings=deps.settings()):
        return None
    return accounts.get_user(conn, username=body.username)


def _expires_in() -> int:
    return deps.settings().api_access_token_minutes * 60


@router.post("/login", summary="Log in", response_model=Tokens, responses=errors(401, 422, 429))
def login(body: Login, request: Request):
    """Trade a username and password for an access token (short-lived) and a refresh token. Failed
    attempts count towards the account's lockout, as on the dashboard's login form, and are
    throttled per client address (429 with Retry-After)."""
    settings = deps.settings()
    address = deps.client_address(request)
    throttle.check_login(settings, address=address, username=body.username)
    user = deps.write(_login, body=body)
    if user is None:
        throttle.login_failed(address=address, username=body.username)
        raise deps.unauthorized(LOGIN_FAILED)
    return {"access_token": tokens.issue_access_token(user, settings=settings),
            "refresh_token": tokens.issue_refresh_token(user, settings=settings),
            "expires_in": _expires_in(), "user": _user_out(user)}


@router.post("/refresh", summary="New access token", response_model=AccessToken, responses=errors(401))
def refresh(token: str = Depends(deps.bearer_token)):
    """Send the refresh token as the bearer (as the original did) for a new access token. It fails at
    once after the user's password or role changes or the account is deactivated."""
    settings = deps.settings()
    try:
        user = deps.read(tokens.user_from_token, token=token, kind="refresh", settings=settings)
    except tokens.TokenError as exc:
        raise deps.unauthorized(str(exc)) from None
    return {"access_token": tokens.issue_access_token(user, settings=settings), "expires_in": _expires_in()}
