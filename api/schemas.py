"""Request bodies and answers, with the original API's keys (Portuguese) and examples for /docs.

The original's clients send and read these exact keys; the product's own fields sit beside them.
Dates travel as `YYYY-MM-DD`, visits as `YYYY-MM-DD HH:MM:SS` (the original's formats); bodies
also accept `DD/MM/YYYY` as the dashboard's forms do (core parses them).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.accounts import (MAX_EMAIL_LENGTH, MAX_PASSWORD_BYTES, MAX_USERNAME_LENGTH,
                           MIN_PASSWORD_LENGTH)

VISIT_FORMAT = "%Y-%m-%d %H:%M:%S"
MAX_ID = 2**63 - 1  # PostgreSQL bigint


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
    username: str = Field(max_length=MAX_USERNAME_LENGTH, description=f"3-{MAX_USERNAME_LENGTH} characters of "
                          "a-z 0-9 . _ -, stored lower-case.")
    password: str = Field(max_length=MAX_PASSWORD_BYTES, description=f"At least {MIN_PASSWORD_LENGTH} characters, "
                          f"at most {MAX_PASSWORD_BYTES} bytes; not a well-known password or the username.")
    email: str | None = Field(None, max_length=MAX_EMAIL_LENGTH)
    model_config = _example(username="maria.souza", email="maria@example.com", password="a long passphrase")


class Login(BaseModel):
    username: str = Field(max_length=MAX_USERNAME_LENGTH, description=_USERNAME)
    password: str = Field(max_length=MAX_PASSWORD_BYTES, description=_PASSWORD)
    model_config = _example(username="maria.souza", password="a long passphrase")


class PasswordChange(BaseModel):
    """A user's own password change: the current password proves who they are (no token needed)."""
    username: str = Field(max_length=MAX_USERNAME_LENGTH, description=_USERNAME)
    password: str = Field(max_length=MAX_PASSWORD_BYTES, description="The current password. " + _PASSWORD)
    new_password: str = Field(max_length=MAX_PASSWORD_BYTES, description=f"At least {MIN_PASSWORD_LENGTH} "
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
    refresh_token: str = Field(description="Single use: POST /v1/auth/refresh answers a new one.")
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds the access token stays valid.")
    user: UserOut
    model_config = _example(access_token="eyJhbGciOiJIUzI1NiIs...", refresh_token="eyJhbGciOiJIUzI1NiIs...",
                            token_type="bearer", expires_in=900,
                            user={"id": 7, "username": "maria.souza", "email": "maria@example.com", "role": "viewer"})


class AccessToken(BaseModel):
    access_token: str
    refresh_token: str = Field(description="The next refresh token: the one sent no longer works.")
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
    id: int | None = Field(None, ge=1, le=MAX_ID, description="Customer id (id_cliente); omit to take the next free id.")
    nome: str
    email: str | None = None
    telefone: str | None = Field(None, description="10 or 11 digits (area code + number); punctuation allowed.")
    model_config = _example(nome="teste1", email="teste1@gmail.com", telefone="21998765432")


class CustomerUpdate(BaseModel):
    """Fields to correct; a field left out keeps its value, `null` clears email or telefone."""
    nome: str | None = None
    email: str | None = None
    telefone: str | None = None
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
    id: int | None = Field(None, ge=1, le=MAX_ID, description="Service id (id_atendimento); omit to take the next free id.")
    id_cliente: int = Field(ge=1, le=MAX_ID, description="Customer id; an unknown one creates a stub customer.")
    angel: str
    polo: str
    data_limite: str = Field(description="Deadline, YYYY-MM-DD (or DD/MM/YYYY).")
    data_de_atendimento: str | None = Field(
        None, description="When the visit happened, YYYY-MM-DD HH:MM:SS (or DD/MM/YYYY HH:MM); null = not visited.")
    confirm_far_visit: bool = Field(
        False, description="Needed when the visit is more than a year from the deadline (likely a typo).")
    model_config = _example(angel="teste123", data_de_atendimento="2024-03-21 00:00:00",
                            data_limite="2024-05-22", id_cliente=2, polo="RJ")


class ServiceUpdate(BaseModel):
    """Fields to correct; a field left out keeps its value, `data_de_atendimento: null` clears the visit."""
    id_cliente: int | None = Field(None, ge=1, le=MAX_ID)
    angel: str | None = None
    polo: str | None = None
    data_limite: str | None = None
    data_de_atendimento: str | None = None
    confirm_far_visit: bool = False
    model_config = _example(angel="teste87687", data_de_atendimento="2024-03-21 00:00:00",
                            data_limite="2024-05-23", id_cliente=2, polo="RN")


class ServiceOut(BaseModel):
    id: int
    id_cliente: int
    angel: str
    polo: str
    data_limite: date
    data_de_atendimento: str | None = Field(description="YYYY-MM-DD HH:MM:SS; null = not visited.")
    status: str = Field(description="on_time, late, not_visited or open, as of today.")
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
    total_de_atendimentos: int = Field(description="Services due in the period: on time + late + not visited.")
    total_de_atendimentos_no_prazo: int = Field(description="Of those, visited on or before the deadline day.")
    sla: str | None = Field(description="On time / due, as the original's text, e.g. '85.23%'; null when nothing is due.")
    on_time: int
    late: int
    not_visited: int
    open: int = Field(description="Due in the period, not visited, deadline not passed yet: outside the SLA.")
    sla_ratio: float | None = Field(description="on_time / (on_time + late + not_visited); null when nothing is due.")
    avg_slack_days: float | None = Field(description="Mean of (deadline - visit date) in days; positive = early.")


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
        description="The original's avg_time: mean slack (deadline - visit date) in days, 2 decimals.")
    produtividade: float | None = Field(description="Visits / business days of the period, 2 decimals.")
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


# --- loads ----------------------------------------------------------------------------------------

class JobAccepted(BaseModel):
    message: str
    job_id: int
    status_url: str
    model_config = _example(message="bd_desafio.csv is loading as job 12.", job_id=12, status_url="/v1/jobs/12")


class Job(BaseModel):
    id: int
    kind: str
    file_name: str
    status: str = Field(description="queued, running, done, failed or interrupted (no heartbeat: resume it).")
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
