"""/v1/customers: find, register, correct and delete customers."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.engine import Connection

from api import deps
from api.bodies import TokenFirst
from api.deps import errors
from api.schemas import (MAX_ID, CustomerIn, CustomerList, CustomerOut, CustomerUpdate, Deleted, EmailSearch,
                         NomeSearch, PhoneSearch, Total, list_answer)
from core import records
from core.accounts import Actor

router = APIRouter(prefix="/v1/customers", tags=["Customers"], route_class=TokenFirst)


def customer_out(customer: records.Customer) -> dict:
    return {"id": customer.id, "nome": customer.nome, "email": customer.email,
            "telefone": customer.telefone, "is_stub": customer.is_stub}


def customer_filter(
    id: int | None = Query(None, gt=0, le=MAX_ID, description="Customer id (id_cliente).", examples=[820713124]),
    nome: NomeSearch | None = Query(None, description="Part of the name (case and accents ignored).",
                                    examples=["Tara Jones"]),
    email: EmailSearch | None = Query(None, description="Part of the email (case ignored).",
                                      examples=["820713124wwilliams@yahoo.com"]),
    telefone: PhoneSearch | None = Query(None, description="Digits of the phone, or part of them.",
                                         examples=["05953162998"]),
    stubs: bool | None = Query(None, description="true: only stubs (known only by a service); false: only "
                                                 "customers with a name."),
) -> records.CustomerFilter:
    return records.CustomerFilter(id=id, nome=nome, email=email, telefone=telefone, stubs=stubs)


@router.get("", summary="Filter customers", response_model=CustomerList, response_model_exclude_unset=True,
            responses=errors(401, 422))
def list_customers(
    request: Request,
    filters: records.CustomerFilter = Depends(customer_filter),
    paging: deps.Paging = Depends(),
    actor: Actor = Depends(deps.viewer),
):
    """Customers matching every given filter, in id order, with the next page's URL (keyset cursor)."""
    rows, more = paging.read(records.list_customers, filters)
    return list_answer("clientes", [customer_out(c) for c in rows], deps.next_page(request, rows, more))


@router.get("/total", summary="Count customers", response_model=Total, responses=errors(401, 422))
def total_customers(filters: records.CustomerFilter = Depends(customer_filter),
                    actor: Actor = Depends(deps.viewer)):
    """How many customers match the filters (all of them without filters)."""
    return {"total": deps.read(records.count_customers, filters=filters)}


@router.get("/{id:record}", summary="Get one customer", response_model=CustomerOut, responses=errors(401, 404, 422))
def get_customer(id: deps.RecordId, actor: Actor = Depends(deps.viewer)):
    return customer_out(deps.found(deps.read(records.get_customer, id=id), records.NO_CUSTOMER, id))


@router.post("", status_code=201, summary="Register a customer", response_model=CustomerOut,
             responses=errors(401, 403, 409, 413, 422))
def create_customer(body: CustomerIn, actor: Actor = Depends(deps.analyst)):
    """Register a customer (analyst). Without `id`, the next free id is taken; an `id` or email
    already used answers 409."""
    return customer_out(deps.write(records.create_customer, actor=actor, **body.model_dump()))


def _update(conn: Connection, *, actor: Actor, id: int, body: CustomerUpdate) -> records.Customer:
    current = deps.found(records.get_customer(conn, id=id), records.NO_CUSTOMER, id)
    values = {"nome": current.nome, "email": current.email, "telefone": current.telefone,
              **body.model_dump(exclude_unset=True)}
    if values["nome"] is None:  # a valid body, but this customer's state needs more of it: 409
        raise records.StubNeedsName(id)
    return records.update_customer(conn, actor=actor, id=id, **values)


@router.put("/{id:record}", summary="Correct a customer", response_model=CustomerOut,
            responses=errors(401, 403, 404, 409, 413, 422))
def update_customer(id: deps.RecordId, body: CustomerUpdate, actor: Actor = Depends(deps.analyst)):
    """Correct a customer (analyst): the fields sent change, the others keep their value. Giving a
    stub a name makes it a real customer."""
    return customer_out(deps.write(_update, actor=actor, id=id, body=body))


@router.delete("/{id:record}", summary="Delete a customer", response_model=Deleted,
               responses=errors(401, 403, 404, 409, 422))
def delete_customer(id: deps.RecordId, actor: Actor = Depends(deps.admin),
                    with_services: bool = Query(False, description="Also delete the customer's services "
                                                                   "(each audited); else 409 when they have any.")):
    """Delete a customer (admin). A customer with services answers 409 unless `with_services=true`."""
    deleted = deps.write(records.delete_customer, actor=actor, id=id, with_services=with_services)
    return {"message": f"Customer {id} deleted.", "services_deleted": deleted}
