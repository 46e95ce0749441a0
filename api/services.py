"""/v1/services: find, register, correct and delete services (the original's customer_services)."""
from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.engine import Connection

from api import deps
from api.bodies import TokenFirst
from api.deps import errors
from api.schemas import (MAX_ID, AngelSearch, Day, Deleted, PoloSearch, ServiceCreated, ServiceIn,
                         ServiceList, ServiceOut, ServiceStatus, ServiceUpdate, Total, VisitText, list_answer,
                         visit_text)
from core import records
from core.accounts import Actor

router = APIRouter(prefix="/v1/services", tags=["Customer Services"], route_class=TokenFirst)


def service_out(service: records.Service) -> dict:
    return {"id": service.id, "id_cliente": service.id_cliente, "angel": service.angel, "polo": service.polo,
            "data_limite": service.data_limite, "data_de_atendimento": visit_text(service.data_de_atendimento),
            "status": service.status}


def _visit_filter(value: str | None) -> dict:
    """The original's `data_de_atendimento` filter: a day (that day) or an exact date and time
    (api.schemas.VISIT_PATTERN, checked by its type)."""
    if not value:
        return {}
    if len(value) == 10:
        day = date.fromisoformat(value)
        return {"visit_from": day, "visit_to": day}
    return {"visit_at": datetime.fromisoformat(value)}


def service_filter(
    id: int | None = Query(None, gt=0, le=MAX_ID, description="Service id (id_atendimento).", examples=[57884]),
    id_cliente: int | None = Query(None, gt=0, le=MAX_ID, description="Customer id.", examples=[664100565]),
    angel: AngelSearch | None = Query(None, description="Exact Green Angel name.",
                                      examples=["Sergio Wanderley Ferreira"]),
    polo: PoloSearch | None = Query(None, description="Exact polo name.", examples=["CE - JUAZEIRO DO NORTE"]),
    data_limite: Day | None = Query(None, description="Deadline (YYYY-MM-DD).", examples=["2021-07-16"]),
    data_de_atendimento: VisitText | None = Query(
        None, description="Visit day (YYYY-MM-DD) or exact visit (YYYY-MM-DD HH:MM:SS, or HH:MM).",
        examples=["2021-07-12 14:39:07"]),
    status: ServiceStatus | None = Query(None, description="As of today.", examples=["late"]),
    deadline_from: Day | None = Query(None, description="Deadline on or after (YYYY-MM-DD)."),
    deadline_to: Day | None = Query(None, description="Deadline on or before (YYYY-MM-DD); a range that "
                                                      "ends before it starts matches nothing."),
) -> records.ServiceFilter | None:
    """The filter the query asks for; None when it surely matches nothing (an empty range)."""
    if data_limite is not None:
        deadline_from = deadline_to = data_limite
    if deadline_from and deadline_to and deadline_from > deadline_to:
        return None
    return records.ServiceFilter(id=id, id_cliente=id_cliente, angel=angel, polo=polo,
                                 deadline_from=deadline_from, deadline_to=deadline_to,
                                 status=status.value if status else None, **_visit_filter(data_de_atendimento))


@router.get("", summary="Filter services", response_model=ServiceList, response_model_exclude_unset=True,
            responses=errors(401, 422))
def list_services(
    request: Request,
    filters: records.ServiceFilter | None = Depends(service_filter),
    paging: deps.Paging = Depends(),
    actor: Actor = Depends(deps.viewer),
):
    """Services matching every given filter, in id order. `proxima_pagina` is the next page's URL with
    the same filters and a keyset cursor, so following it costs the same at any depth."""
    rows, more = paging.read(records.list_services, filters, as_of=deps.today()) if filters else ([], False)
    return list_answer("atendimentos", [service_out(s) for s in rows], deps.next_page(request, rows, more))


@router.get("/total", summary="Count services", response_model=Total, responses=errors(401, 422))
def total_services(filters: records.ServiceFilter | None = Depends(service_filter),
                   actor: Actor = Depends(deps.viewer)):
    """How many services match the filters (all of them without filters)."""
    return {"total": deps.read(records.count_services, filters=filters, as_of=deps.today()) if filters else 0}


@router.get("/{id:record}", summary="Get one service", response_model=ServiceOut, responses=errors(401, 404, 422))
def get_service(id: deps.RecordId, actor: Actor = Depends(deps.viewer)):
    return service_out(deps.found(deps.read(records.get_service, id=id, as_of=deps.today()), records.NO_SERVICE, id))


def _create(conn: Connection, *, actor: Actor, body: ServiceIn) -> tuple[records.Service, bool]:
    # An unknown id_cliente gets a stub customer here (True when this request created it), so the
    # service finds its customer.
    stub = records.ensure_customer(conn, actor=actor, id=body.id_cliente)
    service = records.create_service(
        conn, actor=actor, id=body.id, id_cliente=body.id_cliente, angel=body.angel, polo=body.polo,
        data_limite=body.data_limite, data_de_atendimento=body.data_de_atendimento,
        confirm_far_visit=body.confirm_far_visit, as_of=deps.today())
    return service, stub


@router.post("", status_code=201, summary="Register a service", response_model=ServiceCreated,
             responses=errors(401, 403, 409, 413, 422))
def create_service(body: ServiceIn, actor: Actor = Depends(deps.analyst)):
    """Register a service (analyst). Without `id`, the next free id is taken (safe when many clients
    create at once); with an `id` already taken, 409. An unknown `id_cliente` creates a stub customer
    to fill in later (`stub_customer_created`). A visit more than a year from its deadline needs
    `confirm_far_visit: true`."""
    service, stub = deps.write(_create, actor=actor, body=body)
    return {**service_out(service), "stub_customer_created": stub}


def _update(conn: Connection, *, actor: Actor, id: int, body: ServiceUpdate) -> records.Service:
    current = deps.found(records.get_service(conn, id=id, as_of=deps.today()), records.NO_SERVICE, id)
    values = {"id_cliente": current.id_cliente, "angel": current.angel, "polo": current.polo,
              "data_limite": current.data_limite, "data_de_atendimento": current.data_de_atendimento,
              **body.model_dump(exclude_unset=True, exclude={"confirm_far_visit"})}
    return records.update_service(conn, actor=actor, id=id, confirm_far_visit=body.confirm_far_visit,
                                  create_missing_customer=True, as_of=deps.today(), **values)


@router.put("/{id:record}", summary="Correct a service", response_model=ServiceOut,
            responses=errors(401, 403, 404, 409, 413, 422))
def update_service(id: deps.RecordId, body: ServiceUpdate, actor: Actor = Depends(deps.analyst)):
    """Correct a service (analyst): the fields sent change, the others keep their value. Same checks
    as creating it."""
    return service_out(deps.write(_update, actor=actor, id=id, body=body))


@router.delete("/{id:record}", summary="Delete a service", response_model=Deleted, responses=errors(401, 403, 404, 422))
def delete_service(id: deps.RecordId, actor: Actor = Depends(deps.admin)):
    """Delete a service (admin); audited with what it held."""
    deps.write(records.delete_service, actor=actor, id=id, as_of=deps.today())
    return {"message": f"Service {id} deleted."}
