"""/v1/indicators: SLA by polo, SLA by angel, productivity, with the original's keys and the product's.

Definitions are the product's (core/definitions.py; for people docs/indicators.md): an SLA row
counts the services whose deadline falls in the period; productivity counts the visits made in the
period over its business days.
"""
from __future__ import annotations

from enum import Enum

import pydantic_core
from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.engine import Connection

from api import deps
from api.deps import errors
from api.schemas import AngelSearch, Day, PoloSearch, Productivity, SlaAngel, SlaPolo, Today
from core import indicators, operation_day
from core.accounts import Actor
from core.definitions import Period

router = APIRouter(prefix="/v1/indicators", tags=["Indicators"])

# The sort keys are core's whitelists, listed in the OpenAPI document as enums.
SlaSort = Enum("SlaSort", {key: key for key in indicators.SLA_SORTS}, type=str)
ProductivitySort = Enum("ProductivitySort", {key: key for key in indicators.PRODUCTIVITY_SORTS}, type=str)


class Question:
    """The query every indicator route takes: period, polo and angel filters, sort direction."""

    def __init__(
        self,
        start_date: Day | None = Query(None, description="First day, YYYY-MM-DD (default: the first day with data).",
                                       examples=["2022-03-01"]),
        end_date: Day | None = Query(None, description="Last day, included, YYYY-MM-DD (default: the last day "
                                                       "with data); before start_date: an empty answer.",
                                     examples=["2022-03-31"]),
        polo: PoloSearch | None = Query(None, description="Only this polo.", examples=["RJ - SAO GONÇALO"]),
        angel: AngelSearch | None = Query(None, description="Only this Green Angel."),
        desc: bool = Query(True, description="Largest first (true, the default) or smallest first."),
    ):
        self.start, self.end, self.polo, self.angel, self.desc = start_date, end_date, polo, angel, desc

    def period(self, conn: Connection) -> Period | None:
        """The asked period; missing ends default to the data's. None: no data at all, or an end
        before the start (no day: nothing to answer)."""
        if self.start and self.end:
            return Period(self.start, self.end) if self.start <= self.end else None
        known = indicators.data_range(conn)
        if known.empty:
            return None
        start, end = self.start or known.first, self.end or known.last
        return Period(start, end) if start <= end else None


def _percent(ratio: float | None) -> str | None:
    return None if ratio is None else f"{ratio * 100:.2f}%"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _answer(payload: dict) -> Response:
    """The answer as JSON, written without validating it row by row through the route's
    response_model (still declared, so the OpenAPI document says the same): for 1,820 rows that
    validation cost about 20 ms. The rows are built below from core's typed rows with the model's
    fields in its order, so pydantic_core writes the very bytes FastAPI wrote through the model
    (tests/api/test_indicators_api.py compares them)."""
    return Response(pydantic_core.to_json(payload), media_type="application/json")


def _sla_rows(rows: list[indicators.SlaRow], key: str) -> list[dict]:
    """Rows of SlaPoloRow or SlaAngelRow (api.schemas), fields in their order."""
    if key == "polo":
        return [{"total_de_atendimentos": r.total, "total_de_atendimentos_no_prazo": r.on_time, "sla": _percent(r.sla),
                 "on_time": r.on_time, "late": r.late, "not_visited": r.not_visited, "open": r.open,
                 "sla_ratio": r.sla, "avg_slack_days": r.avg_slack_days, "polo": r.polo} for r in rows]
    return [{"total_de_atendimentos": r.total, "total_de_atendimentos_no_prazo": r.on_time, "sla": _percent(r.sla),
             "on_time": r.on_time, "late": r.late, "not_visited": r.not_visited, "open": r.open,
             "sla_ratio": r.sla, "avg_slack_days": r.avg_slack_days, "angel": r.angel, "polo": r.polo} for r in rows]


def _sla(conn: Connection, *, q: Question, by: str, sort: str) -> list[indicators.SlaRow]:
    period = q.period(conn)
    if period is None:
        return []
    fn = indicators.sla_by_polo if by == "polo" else indicators.sla_by_angel
    return fn(conn, period=period, polo=q.polo, angel=q.angel, sort=sort, descending=q.desc, as_of=deps.today())


def _sla_route(by: str, answer_key: str, doc: str):
    """The SLA route of one grouping (polo or angel); the two differ only in their rows' key."""

    def route(q: Question = Depends(), sort_field: SlaSort = Query(SlaSort.total, description=(
            "total (services due), total_sla (on time), avg_time (average slack), or the product's keys.")),
            actor: Actor = Depends(deps.viewer)):
        rows = deps.read(_sla, q=q, by=by, sort=sort_field.value)
        return _answer({answer_key: _sla_rows(rows, by)})

    route.__doc__, route.__name__ = doc, answer_key
    return route


router.get("/sla/polo", summary="SLA by polo", response_model=SlaPolo, responses=errors(401, 422))(_sla_route(
    "polo", "sla_polo", "SLA per polo over the services due in the period (definitions: docs/indicators.md)."))
router.get("/sla/angel", summary="SLA by Green Angel", response_model=SlaAngel, responses=errors(401, 422))(
    _sla_route("angel", "sla_angel", "SLA per Green Angel over the services due in the period."))


def _productivity(conn: Connection, *, q: Question, sort: str, country: str) -> list[indicators.ProductivityRow]:
    period = q.period(conn)
    if period is None:
        return []
    return indicators.productivity(conn, period=period, polo=q.polo, angel=q.angel, sort=sort,
                                   descending=q.desc, as_of=deps.today(), country=country)


@router.get("/productivity", summary="Productivity by Green Angel", response_model=Productivity,
            responses=errors(401, 422))
def productivity(q: Question = Depends(), sort_field: ProductivitySort = Query(ProductivitySort.total, description=(
        "total (visits), total_sla (visits on time), avg_time (average slack), or the product's keys.")),
        actor: Actor = Depends(deps.viewer)):
    """Visits made in the period per Green Angel, per business day of the period up to today
    (definitions: docs/indicators.md)."""
    rows = deps.read(_productivity, q=q, sort=sort_field.value, country=deps.settings().holiday_country)
    return _answer({"produtividade": [{  # ProductivityRowOut's fields, in its order
        "angel": r.angel, "total_de_atendimentos": r.visits, "tempo_medio_atendimento": _round(r.avg_slack_days),
        "produtividade": _round(r.productivity), "polo": r.polo, "visits": r.visits,
        "business_days": r.business_days, "worked_days": r.worked_days,
        "visits_per_worked_day": r.visits_per_worked_day, "avg_slack_days": r.avg_slack_days} for r in rows]})



# --- the operation's day (issue 22) ------------------------------------------------------------------

def _numbers(row: operation_day.DayRow) -> dict:
    return {"polo": row.polo, **({"angel": row.angel} if row.angel else {}),
            **{name: getattr(row, name) for name in operation_day.NUMBERS}}


@router.get("/today", summary="The operation's day", response_model=Today, response_model_exclude_unset=True,
            responses=errors(401, 422))
def today(day: Day | None = Query(None, alias="date", description="The day, YYYY-MM-DD (default: today in "
                                                                     "TIMEZONE, the operation's time zone).",
                                   examples=["2026-12-07"]),
          polo: PoloSearch | None = Query(None, description="Only this polo, and its angels.", examples=["RJ - SAO GONÇALO"]),
          actor: Actor = Depends(deps.viewer)):
    """What is still open on the day, where, and what each polo needs to reach the month's SLA target
    (SLA_TARGET): per polo, most at risk first (due today and open, then due tomorrow, then overdue)."""
    cfg = deps.settings()
    report = deps.read(operation_day.operation_day, day=day or deps.today(), target=cfg.sla_target,
                       polo=polo)
    answer = {"date": report.day, "polos": [_numbers(r) for r in report.polos]}
    if report.angels is not None:
        answer["angels"] = [_numbers(r) for r in report.angels]
    return Today(**answer)
