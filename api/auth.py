"""/v1/auth: register, log in, refresh, log out, change one's password. The same users, roles,
throttle, lockout and audit as the dashboard: core.accounts does each, this module only answers."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from api import deps
from api.deps import errors
from api.schemas import AccessToken, LoggedOut, Login, PasswordChange, Register, Tokens, UserOut
from core import accounts, tokens

router = APIRouter(prefix="/v1/auth", tags=["Auth"])
LOGGED_OUT = "Logged out: this session's access and refresh tokens no longer work."
# The examples of this router's own answers in /docs (the shared ones speak of other routes).
_EXAMPLES = {401: accounts.LOGIN_FAILED, 403: accounts.MUST_CHANGE_PASSWORD}


def _user_out(user: accounts.User) -> dict:
    return {"id": user.id, "username": user.username, "email": user.email, "role": user.role}


def _expires_in() -> int:
    return deps.settings().api_access_token_minutes * 60


def _answer(issued: tokens.Tokens) -> dict:
    return {"access_token": issued.access_token, "refresh_token": issued.refresh_token,
            "expires_in": _expires_in(), "user": _user_out(issued.user)}


@router.post("/register", status_code=201, summary="Register as a viewer", response_model=UserOut,
             responses=errors(403, 409, 422, 429))
def register(body: Register, request: Request):
    """Create a viewer account; only when ALLOW_SIGNUP=true (403 otherwise). A taken username is 409.
    Registrations are throttled per client address (429 with Retry-After)."""
    user = accounts.register(deps.engine(), username=body.username, password=body.password, email=body.email,
                             address=deps.client_address(request), settings=deps.settings())
    return _user_out(user)


@router.post("/login", summary="Log in", response_model=Tokens, responses=errors(401, 403, 422, 429, examples=_EXAMPLES))
def login(body: Login, request: Request):
    """Trade a username and password for an access token (short-lived) and a refresh token. Failed
    attempts count towards the account's lockout, as on the dashboard's login form, and attempts are
    throttled per client address (429 with Retry-After). A password generated on the first start
    gets no tokens (403) until it is changed: POST /v1/auth/password."""
    settings = deps.settings()
    session = accounts.log_in(deps.engine(), username=body.username, password=body.password,
                              address=deps.client_address(request), settings=settings, kind="api")
    return _answer(tokens.issue(session, settings=settings))


@router.post("/password", summary="Change my password", response_model=Tokens,
             responses=errors(401, 422, 429, examples={401: accounts.CURRENT_PASSWORD_WRONG}))
def change_password(body: PasswordChange, request: Request):
    """Change your own password, giving the current one (no token needed: the current password is the
    proof, checked as a login's is: throttled, and a wrong one counts towards the lockout). Every
    session and token of the account ends; the answer carries new tokens."""
    settings = deps.settings()
    session = accounts.change_own_password(deps.engine(), username=body.username, current=body.password,
                                           new=body.new_password, address=deps.client_address(request),
                                           settings=settings, kind="api")
    return _answer(tokens.issue(session, settings=settings))


@router.post("/refresh", summary="New access token", response_model=AccessToken, responses=errors(401))
def refresh(token: str = Depends(deps.bearer_token)):
    """Send the refresh token as the bearer (as the original did) for a new access token; the answer
    repeats the refresh token, which works again until its session ends. It fails at once after a
    logout, or after the user's password or role changes or the account is deactivated."""
    settings = deps.settings()
    try:
        issued = deps.read(tokens.refresh, token=token, settings=settings)
    except tokens.TokenError as exc:
        raise deps.unauthorized(str(exc)) from None
    answer = _answer(issued)
    answer.pop("user")
    return answer


@router.post("/logout", summary="Log out", response_model=LoggedOut, responses=errors(401))
def logout(token: str = Depends(deps.bearer_token)):
    """Send the access token as the bearer: its session ends, and with it that access token and its
    refresh token (the account's other sessions go on)."""
    try:
        deps.write(tokens.log_out, token=token, settings=deps.settings())
    except tokens.TokenError as exc:
        raise deps.unauthorized(str(exc)) from None
    return {"message": LOGGED_OUT}
