"""Request bodies and answers, with the original API's keys (Portuguese) and examples for /docs.

The original's clients send and read these exact keys; the product's own fields sit beside them.
Dates travel as `YYYY-MM-DD`, visits as `YYYY-MM-DD HH:MM:SS` (the original's formats).
"""
from __future__ import annotations

import re
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any

from starlette.convertors import Convertor, register_url_convertor
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, WithJsonSchema

from core import contact, text
from core.definitions import FIRST_DAY, ID_MAX, LAST_DAY, STATUSES
from core.accounts import MAX_PASSWORD_BYTES, MAX_USERNAME_LENGTH, MIN_PASSWORD_LENGTH
from core.loading import JOB_STATUSES, KINDS

VISIT_FORMAT = "%Y-%m-%d %H:%M:%S"
MAX_ID = ID_MAX  # the largest id, in a path, a query or a body (core.definitions: 2^53 - 1)


# --- validation: what every input may hold (issue 21) ---------------------------------------------
# Each type below is both the check the server runs and the JSON Schema /openapi.json publishes
# (a pattern built from core's own rules), so the schema says what the server does and the server
# does what the schema says; tests/api/test_fuzz.py holds them to it with schemathesis. The checks
# themselves are core's: core.text (control characters, lengths), core.contact (phone, email).

def _refused(exc: Exception) -> ValueError:
    return ValueError(str(exc))  # the 422's message: api.main.invalid_request prefixes the field


def _plain(value: str, limit: int | None = None) -> str:
    try:
        return text.check(value, what="value", limit=limit)
    except text.TextRefused as exc:
        raise _refused(exc) from None


def _no_control(limit: int | None = None, *, pattern: str = text.NO_CONTROL_PATTERN):
    """A text type: core.text's rule (no control character; at most `limit` characters)."""
    extra = {"pattern": pattern} | ({"maxLength": limit} if limit else {})
    return [AfterValidator(lambda v: _plain(v, limit)), Field(json_schema_extra=extra)]


_CC = text.CONTROL
_BLANK = "".join(c for c in contact.SPACES if not re.fullmatch(f"[{_CC}]", c))  # whitespace that is not Cc

# Any text without control characters: the login's and registration's fields (the accounts' own
# rules, e.g. lengths, come on top in the models).
PlainText = Annotated[str, *_no_control()]


def _named(field: str):
    """A name (customer, angel, polo): core.text's rule, and not blank (core.records keeps runs of
    whitespace as one space)."""
    limit = text.LIMITS[field]

    def check(value: str) -> str:
        _plain(value, limit)
        if not value.split():
            raise ValueError("must not be blank.")
        return value

    return Annotated[str, AfterValidator(check), Field(json_schema_extra={
        "pattern": f"^[^{_CC}]*[^{_CC}{contact.SPACES}][^{_CC}]*$", "maxLength": limit})]


Nome, Angel, Polo = _named("nome"), _named("angel"), _named("polo")


def _email(value: str) -> str:
    _plain(value, text.LIMITS["email"])
    try:
        stored = contact.clean_email(value)
    except contact.ContactError as exc:
        raise _refused(exc) from None
    if stored != value:
        raise ValueError("write the address alone, without spaces or quotes around it.")
    return value


# An email as core.contact stores it (the API takes it as stored: no spaces or quotes around it).
_EMAIL_CHAR = f'[^@{contact.SPACES}{_CC}]'
_EMAIL_EDGE = f'[^@{contact.SPACES}{_CC}"]'
Email = Annotated[str, AfterValidator(_email), Field(json_schema_extra={
    "pattern": f"^{_EMAIL_EDGE}{_EMAIL_CHAR}*@{_EMAIL_CHAR}+[.]{_EMAIL_CHAR}*{_EMAIL_EDGE}$",
    "maxLength": text.LIMITS["email"]})]


def _phone(value: str) -> str:
    _plain(value, text.PHONE_INPUT_MAX)
    try:
        contact.clean_phone(value)
    except contact.ContactError as exc:
        raise _refused(exc) from None
    return value


# A phone as core.contact reads it: 10 or 11 digits after Brazil's optional 55, with spaces,
# brackets, dots, dashes and a plus as noise; quotes and spaces around it are trimmed; empty: none.
_NOISE = f"[{_BLANK}().+-]"
Phone = Annotated[str, AfterValidator(_phone), Field(json_schema_extra={
    "pattern": f'^[ "]*(?:{_NOISE}*(?:5{_NOISE}*5{_NOISE}*)?(?:[0-9]{_NOISE}*){{10,11}})?[ "]*$',
    "maxLength": text.PHONE_INPUT_MAX})]


def _search(field: str, *, pattern: str = text.NO_CONTROL_PATTERN):
    """A filter's text: core.text's rule and the field's own limit (a longer term matches nothing)."""
    return Annotated[str, *_no_control(text.LIMITS[field], pattern=pattern)]


NomeSearch, EmailSearch, AngelSearch, PoloSearch = (_search(f) for f in ("nome", "email", "angel", "polo"))
# The phone is searched by its digits: a term with none (but not blank) has nothing to search.
PhoneSearch = Annotated[str, *_no_control(text.PHONE_INPUT_MAX, pattern=(
    f"^(?:[^{_CC}]*[0-9][^{_CC}]*|[{_BLANK}]*)$"))]

# A day the product takes (core.definitions.FIRST_DAY..LAST_DAY, as the loader and the forms),
# written YYYY-MM-DD: a real day, leap years included (1900 and 2100 are not leap years). A Unix
# timestamp such as 0, or another form, is refused.
_MONTH_DAY = ("(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
              "|02-(?:0[1-9]|1[0-9]|2[0-8]))")
_LEAP_YEAR = "(?:19(?:0[48]|[2468][048]|[13579][26])|20(?:0[048]|[2468][048]|[13579][26]))"
DAY = f"(?:(?:19[0-9]{{2}}|20[0-9]{{2}}|2100)-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
DAY_PATTERN = f"^{DAY}$"
# A visit: its day, optionally with the time (HH:MM or HH:MM:SS).
VISIT_PATTERN = f"^{DAY}(?: (?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?)?$"
_DAY_WORDS = f"a day written YYYY-MM-DD between {FIRST_DAY} and {LAST_DAY}"
# What the two validators below answer (fixed texts: the days are the product's constants).
_NOT_A_DAY = f"must be {_DAY_WORDS}."
_NOT_A_VISIT = f"must be {_DAY_WORDS}, optionally with the time (HH:MM or HH:MM:SS)."


def _day(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.fullmatch(DAY_PATTERN, value):
        return date.fromisoformat(value)
    raise ValueError(_NOT_A_DAY)


def _visit(value: str) -> str:
    if not re.fullmatch(VISIT_PATTERN, value):
        raise ValueError(_NOT_A_VISIT)
    return value


Day = Annotated[date, BeforeValidator(_day), WithJsonSchema(
    {"type": "string", "format": "date", "pattern": DAY_PATTERN})]


def _day_text(value: str) -> str:
    _day(value)
    return value


DayText = Annotated[str, AfterValidator(_day_text), Field(json_schema_extra={"format": "date", "pattern": DAY_PATTERN})]
VisitText = Annotated[str, AfterValidator(_visit), Field(json_schema_extra={"pattern": VISIT_PATTERN})]


def _integer(value: Any) -> Any:
    """A JSON integer (2, or 2.0, which JSON Schema counts as one); never a string or a boolean."""
    if isinstance(value, (str, bool)):
        raise ValueError("must be a JSON integer, not a string or a boolean.")
    return value


RecordIdIn = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_integer)]  # bounds first: in the schema


class RecordPathId(Convertor):
    """The `{id:record}` of /v1/customers/{id} and /v1/services/{id}: any segment but the words of
    their sibling routes, so `PUT /v1/customers/total` is a method /total does not allow (405), not
    a customer id that is no number (422). A segment that is no id still answers 422 naming it."""
    regex = "(?!(?:total|batch)$)[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: Any) -> str:
        return str(value)


register_url_convertor("record", RecordPathId())

ServiceStatus = Enum("ServiceStatus", {s: s for s in STATUSES}, type=str)
JobStatus = Enum("JobStatus", {s: s for s in JOB_STATUSES}, type=str)
JobKind = Enum("JobKind", {k: k for k in KINDS}, type=str)


def _example(**values: Any) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [values]})


def visit_text(value: datetime | None) -> str | None:
    return value.strftime(VISIT_FORMAT) if value else None


class Error(BaseModel):
    """Every error answer: one plain-language message."""
    error: str
    model_config = _example(error="The deadline '2022-02-30' is not a valid date (DD/MM/YYYY).")


# --- auth -----------------------------------------------------------------------------------------

_USERNAME = f"The account's username (at most {MAX_USERNAME_LENGTH} characters)."
_PASSWORD = f"At most {MAX_PASSWORD_BYTES} characters (bcrypt reads no more than {MAX_PASSWORD_BYTES} bytes)."


class Register(BaseModel):
    username: PlainText = Field(max_length=MAX_USERNAME_LENGTH, description=f"3-{MAX_USERNAME_LENGTH} "
                                "characters of a-z 0-9 . _ -, stored lower-case.")
    password: PlainText = Field(max_length=MAX_PASSWORD_BYTES, description=f"At least {MIN_PASSWORD_LENGTH} "
                                f"characters, at most {MAX_PASSWORD_BYTES} bytes; not a well-known password or the "
                                "username.")
    email: Email | None = None
    model_config = _example(username="maria.souza", email="maria@example.com", password="a long passphrase")


class Login(BaseModel):
    username: PlainText = Field(max_length=MAX_USERNAME_LENGTH, description=_USERNAME)
    password: PlainText = Field(max_length=MAX_PASSWORD_BYTES, description=_PASSWORD)
    model_config = _example(username="maria.souza", password="a long passphrase")


class PasswordChange(BaseModel):
    """A user's own password change: the current password proves who they are (no token needed)."""
    username: PlainText = Field(max_length=MAX_USERNAME_LENGTH, description=_USERNAME)
    password: PlainText = Field(max_length=MAX_PASSWORD_BYTES, description="The current password. " + _PASSWORD)
    new_password: PlainText = Field(max_length=MAX_PASSWORD_BYTES, description=f"At least {MIN_PASSWORD_LENGTH} "
                                    f"characters, at most {MAX_PASSWORD_BYTES} bytes; not a well-known password, the "
                                    "username or the current password.")
    model_config = _example(username="admin", password="the generated one", new_password="my own long passphrase")


class UserOut(BaseModel):
    id: int
    username: str
    email: str | None
    role: str
    model_config = _example(id=7, username="maria.souza", email="maria@example.com", role="viewer")


class Tokens(BaseModel):
    access_token: str
    refresh_token: str = Field(description="Gets new access tokens (POST /v1/auth/refresh) until the session ends.")
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds the access token stays valid.")
    user: UserOut
    model_config = _example(access_token="eyJhbGciOiJIUzI1NiIs...", refresh_token="eyJhbGciOiJIUzI1NiIs...",
                            token_type="bearer", expires_in=900,
                            user={"id": 7, "username": "maria.souza", "email": "maria@example.com", "role": "viewer"})


class AccessToken(BaseModel):
    access_token: str
    refresh_token: str = Field(description="The refresh token sent, which works again until the session ends.")
    token_type: str = "bearer"
    expires_in: int
    model_config = _example(access_token="eyJhbGciOiJIUzI1NiIs...", refresh_token="eyJhbGciOiJIUzI1NiIs...",
                            token_type="bearer", expires_in=900)


class LoggedOut(BaseModel):
    message: str
    model_config = _example(message="Logged out: this session's access and refresh tokens no longer work.")


# --- records --------------------------------------------------------------------------------------

class CustomerIn(BaseModel):
    """A new customer; without `id` the next free id is taken."""
    id: RecordIdIn | None = Field(None, description="Customer id (id_cliente); omit to take the next free id.")
    nome: Nome
    email: Email | None = None
    telefone: Phone | None = Field(None, description="10 or 11 digits (area code + number); punctuation allowed.")
    model_config = _example(nome="teste1", email="teste1@gmail.com", telefone="21998765432")


class CustomerUpdate(BaseModel):
    """Fields to correct; a field left out keeps its value, `null` clears email or telefone."""
    nome: Nome = None  # a name cannot be cleared: no null
    email: Email | None = None
    telefone: Phone | None = None
    model_config = _example(nome="teste1", email="teste1@gmail.com", telefone="2188888888")


class CustomerOut(BaseModel):
    id: int
    nome: str | None = Field(description="null for a stub: a customer known only by a service's id_cliente.")
    email: str | None
    telefone: str | None
    is_stub: bool
    model_config = _example(id=820713124, nome="Tara Jones", email="820713124wwilliams@yahoo.com",
                            telefone="05953162998", is_stub=False)


class ServiceIn(BaseModel):
    """A new service; without `id` the next free id (id_atendimento) is taken."""
    id: RecordIdIn | None = Field(None, description="Service id (id_atendimento); omit to take the next free id.")
    id_cliente: RecordIdIn = Field(description="Customer id; an unknown one creates a stub customer.")
    angel: Angel
    polo: Polo
    data_limite: DayText = Field(description="Deadline, YYYY-MM-DD.")
    data_de_atendimento: VisitText | None = Field(
        None, description="When the visit happened, YYYY-MM-DD HH:MM:SS (or HH:MM, or the day alone); null = not visited.")
    confirm_far_visit: StrictBool = Field(
        False, description="Needed when the visit is more than a year from the deadline (likely a typo).")
    model_config = _example(angel="teste123", data_de_atendimento="2024-03-21 00:00:00",
                            data_limite="2024-05-22", id_cliente=2, polo="RJ")


class ServiceUpdate(BaseModel):
    """Fields to correct; a field left out keeps its value, `data_de_atendimento: null` clears the visit."""
    id_cliente: RecordIdIn = None  # none of these can be cleared (no null) but the visit
    angel: Angel = None
    polo: Polo = None
    data_limite: DayText = None
    data_de_atendimento: VisitText | None = None
    confirm_far_visit: StrictBool = False
    model_config = _example(angel="teste87687", data_de_atendimento="2024-03-21 00:00:00",
                            data_limite="2024-05-23", id_cliente=2, polo="RN")


class ServiceOut(BaseModel):
    id: int
    id_cliente: int
    angel: str
    polo: str
    data_limite: date
    data_de_atendimento: str | None = Field(description="YYYY-MM-DD HH:MM:SS; null = not visited.")
    status: ServiceStatus = Field(description="on_time, late, not_visited or open, as of today.")
    model_config = _example(id=57884, id_cliente=664100565, angel="Sergio Wanderley Ferreira",
                            polo="CE - JUAZEIRO DO NORTE", data_limite="2021-07-16",
                            data_de_atendimento="2021-07-12 14:39:07", status="on_time")


class ServiceCreated(ServiceOut):
    stub_customer_created: bool = Field(
        description="True when id_cliente was unknown and a stub customer was created for it.")
    model_config = _example(id=1048576, id_cliente=2, angel="teste123", polo="RJ", data_limite="2024-05-22",
                            data_de_atendimento="2024-03-21 00:00:00", status="on_time", stub_customer_created=True)


class CustomerList(BaseModel):
    clientes: list[CustomerOut]
    total_por_pagina: int = Field(description="Rows in this page.")
    proxima_pagina: str | None = Field(
        None, description="URL of the next page (keyset cursor `after`); absent on the last page.")
    model_config = _example(clientes=[{"id": 820713124, "nome": "Tara Jones", "email": "820713124wwilliams@yahoo.com",
                                       "telefone": "05953162998", "is_stub": False}], total_por_pagina=1,
                            proxima_pagina="http://localhost:8502/v1/customers?nome=Tara&limit=1&after=820713124")


def list_answer(key: str, rows: list[dict], next_page: str | None) -> dict:
    """A list route's answer: the rows under the original's `key`, their count, and `proxima_pagina`
    only when a page follows (its routes drop unset keys only: a row's null fields stay)."""
    answer = {key: rows, "total_por_pagina": len(rows)}
    if next_page:
        answer["proxima_pagina"] = next_page
    return answer


class ServiceList(BaseModel):
    atendimentos: list[ServiceOut]
    total_por_pagina: int = Field(description="Rows in this page.")
    proxima_pagina: str | None = Field(
        None, description="URL of the next page (keyset cursor `after`); absent on the last page.")
    model_config = _example(atendimentos=[{"id": 57884, "id_cliente": 664100565, "angel": "Sergio Wanderley Ferreira",
                                           "polo": "CE - JUAZEIRO DO NORTE", "data_limite": "2021-07-16",
                                           "data_de_atendimento": "2021-07-12 14:39:07", "status": "on_time"}],
                            total_por_pagina=1,
                            proxima_pagina="http://localhost:8502/v1/services?polo=CE+-+JUAZEIRO+DO+NORTE&limit=1&after=57884")


class Total(BaseModel):
    total: int
    model_config = _example(total=1048575)


class Deleted(BaseModel):
    message: str
    services_deleted: int = 0
    model_config = _example(message="Customer 2 deleted.", services_deleted=3)


# --- indicators -----------------------------------------------------------------------------------

class _SlaCounts(BaseModel):
    total_de_atendimentos: int = Field(description="The SLA's cohort: services due in the period, on time + late + "
                                                   "not visited (definitions: docs/indicators.md).")
    total_de_atendimentos_no_prazo: int = Field(description="Of those, on time.")
    sla: str | None = Field(description="The SLA as the original's text, e.g. '85.23%'; null when nothing is due.")
    on_time: int
    late: int
    not_visited: int
    open: int = Field(description="Due in the period and still open: outside the SLA.")
    sla_ratio: float | None = Field(description="The SLA, 0..1; null when nothing is due.")
    avg_slack_days: float | None = Field(description="The average slack in days; positive = early.")


class SlaPoloRow(_SlaCounts):
    polo: str


class SlaAngelRow(_SlaCounts):
    angel: str
    polo: str


class SlaPolo(BaseModel):
    sla_polo: list[SlaPoloRow]
    model_config = _example(sla_polo=[{
        "polo": "RJ - SAO GONÇALO", "total_de_atendimentos": 1480, "total_de_atendimentos_no_prazo": 1262,
        "sla": "85.27%", "on_time": 1262, "late": 171, "not_visited": 47, "open": 0, "sla_ratio": 0.8527,
        "avg_slack_days": 0.41}])


class SlaAngel(BaseModel):
    sla_angel: list[SlaAngelRow]
    model_config = _example(sla_angel=[{
        "angel": "Pedro Wanderley de", "polo": "RJ - SAO GONÇALO", "total_de_atendimentos": 57,
        "total_de_atendimentos_no_prazo": 49, "sla": "85.96%", "on_time": 49, "late": 6, "not_visited": 2,
        "open": 0, "sla_ratio": 0.8596, "avg_slack_days": 0.38}])


class ProductivityRowOut(BaseModel):
    angel: str
    total_de_atendimentos: int = Field(description="Visits made in the period.")
    tempo_medio_atendimento: float | None = Field(
        description="The original's avg_time: the average slack in days, 2 decimals.")
    produtividade: float | None = Field(description="Productivity: visits per business day of the period up to "
                                                    "today, 2 decimals (definitions: docs/indicators.md).")
    polo: str
    visits: int
    business_days: int
    worked_days: int
    visits_per_worked_day: float | None
    avg_slack_days: float | None


class Productivity(BaseModel):
    produtividade: list[ProductivityRowOut]
    model_config = _example(produtividade=[{
        "angel": "Pedro Wanderley de", "total_de_atendimentos": 58, "tempo_medio_atendimento": 0.4,
        "produtividade": 2.52, "polo": "RJ - SAO GONÇALO", "visits": 58, "business_days": 23,
        "worked_days": 24, "visits_per_worked_day": 2.42, "avg_slack_days": 0.397}])


# --- monitoring -----------------------------------------------------------------------------------

HealthStatus = Enum("HealthStatus", {"ok": "ok", "failing": "failing"}, type=str)


class Health(BaseModel):
    status: HealthStatus = Field(description="ok, or failing (answered with 503; /v1/metrics says which check).")
    model_config = _example(status="ok")


# --- loads ----------------------------------------------------------------------------------------

class JobAccepted(BaseModel):
    message: str
    job_id: int
    status_url: str
    model_config = _example(message="bd_desafio.csv is loading as job 12.", job_id=12, status_url="/v1/jobs/12")


class Job(BaseModel):
    id: int
    kind: JobKind
    file_name: str
    status: JobStatus = Field(description="queued, running, done, failed or interrupted (no heartbeat: resume it).")
    progress: float = Field(description="Share done, 0-1.")
    doing: str | None = Field(description="What a running load is doing, in plain words.")
    rows: int = Field(description="Data lines read so far.")
    inserted: int | None
    updated: int | None
    unchanged: int | None
    rejected: int | None
    duplicates: int | None
    stub_customers: int | None
    stubs_filled: int | None
    seconds: float | None
    rows_per_second: float | None
    message: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    rejects_url: str
    model_config = _example(
        id=12, kind="services", file_name="bd_desafio.csv", status="done", progress=1.0, doing=None, rows=1048575,
        inserted=1048575, updated=0, unchanged=0, rejected=0, duplicates=0, stub_customers=573670, stubs_filled=0,
        seconds=11.1, rows_per_second=94466.2, message=None, created_at="2026-12-01T18:00:00Z",
        started_at="2026-12-01T18:00:00Z", finished_at="2026-12-01T18:00:11Z", rejects_url="/v1/jobs/12/rejects")


# --- the operation's day (issue 22) ------------------------------------------------------------------

class _Polo(BaseModel):
    polo: str


class _Angel(_Polo):
    angel: str


class _Numbers(BaseModel):
    due_today_open: int = Field(description="Deadline on the day, no visit dated on or before it.")
    due_tomorrow_open: int = Field(description="Deadline the day after, no visit dated on or before the day.")
    overdue_open: int = Field(description="Deadline before the day, no visit dated on or before it.")
    visited_today: int = Field(description="Visits dated on the day.")
    visited_today_on_time: int = Field(description="Of those, the visits on time.")
    month_to_date_sla: float | None = Field(description="SLA (0..1) of the services due from the first of the "
                                                        "month to the day, as the SLA routes give it; null: none.")
    month_due: int = Field(description="Services due in the day's month.")
    on_time_so_far: int = Field(description="Of those, visited on time on or before the day.")
    remaining_open: int = Field(description="Due in the month on the day or later, and open on the day.")
    needed_on_time: int = Field(description="max(0, ceil(SLA_TARGET x month_due) - on_time_so_far).")
    target_reachable: bool = Field(description="needed_on_time <= remaining_open.")


class DayNumbers(_Numbers, _Polo):
    """A polo's numbers for the day (definitions: docs/today.md)."""


class AngelDayNumbers(_Numbers, _Angel):
    """An angel's numbers for the day, in the asked polo."""


_POLO_EXAMPLE = dict(polo="RJ - SAO GONÇALO", due_today_open=12, due_tomorrow_open=9, overdue_open=4,
                     visited_today=31, visited_today_on_time=27, month_to_date_sla=0.874, month_due=310,
                     on_time_so_far=240, remaining_open=52, needed_on_time=39, target_reachable=True)


class Today(BaseModel):
    """The day's numbers per polo, most at risk first; per angel of the polo when one is asked."""
    date: date
    polos: list[DayNumbers]
    angels: list[AngelDayNumbers] | None = Field(None, description="Only when `polo` is given.")
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "date": "2026-12-07", "polos": [_POLO_EXAMPLE],
        "angels": [{**_POLO_EXAMPLE, "angel": "Pedro Wanderley de", "due_today_open": 1, "month_due": 12}]}]})


class Reject(BaseModel):
    line: int
    reason: str
    raw: str


class Rejects(BaseModel):
    job_id: int
    rejects: list[Reject]
    total_por_pagina: int
    model_config = _example(job_id=12, total_por_pagina=1, rejects=[{
        "line": 3, "reason": "data_de_atendimento '30/02/2022 10:00' is not a real date",
        "raw": "2;11;Ana Souza de;RJ - SAO GONÇALO;10/03/2022;30/02/2022 10:00"}])
