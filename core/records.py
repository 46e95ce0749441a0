"""Customers and services by hand: find, create, correct, delete, each change audited.

Every function takes a Connection first and keyword arguments after. Writes take an `actor` and
check its role here (viewer reads; analyst creates and corrects; admin also deletes), validate
everything before touching a row, and write the audit row in the caller's transaction, so a
refused or failed change leaves neither a change nor an audit row.

Lists page by keyset on the id (`id > after`, or `id < before` going back), never a big OFFSET:
a page costs the same at row 50 and at row 1,000,000. The total of a filter is a separate call
(`count_*`) because a count must read every match; pages cache it per filter and data version.
"""
from __future__ import annotations

import itertools
import logging
import re
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, time, timedelta
from time import perf_counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core import audit, contact, text
from core.accounts import Actor, require
from core.db import conditions, keyset_page
from core.definitions import FIRST_DAY, ID_MAX, LAST_DAY, STATUSES, status_case, status_condition
from core.messages import N_, Count, TextError
from core.telemetry import timed

log = logging.getLogger(__name__)

PAGE_SIZES = (25, 50, 100, 200)
MAX_PAGE_SIZE = 1000
FAR_VISIT_DAYS = 365  # a visit further than this from its deadline is probably a typo


class RecordError(TextError, ValueError):
    """A record request that cannot be done; the message is for the user (str() English, `text` for
    the dashboard: core.messages.TextError); values named `what` are N_-marked words."""


class NotFound(RecordError):
    """The customer or service does not exist (any more): raised as NotFound(NO_CUSTOMER, id=...)
    or NotFound(NO_SERVICE, id=...)."""

    http_status = 404


NO_CUSTOMER = N_("There is no customer {id}.")
NO_SERVICE = N_("There is no service {id}.")


class IdTaken(RecordError):
    """A create names an id that another customer or service already has."""

    http_status = 409


class EmailTaken(RecordError):
    """Another customer already has this email (compared ignoring case)."""

    http_status = 409


class UnknownCustomer(RecordError):
    """A service names a customer id that does not exist; the UI offers to create it."""

    def __init__(self, id_cliente: int):
        self.id_cliente = id_cliente
        super().__init__(N_("There is no customer {id}. Create the customer first, or choose to create it now."),
                         id=id_cliente)


class FarVisit(RecordError):
    """The visit is more than FAR_VISIT_DAYS from the deadline: repeat with confirm_far_visit (valid,
    but needs that confirmation: a conflict, not bad input)."""

    http_status = 409

    def __init__(self, days: int):
        self.days = days
        super().__init__(N_("The visit is {days} days after the deadline (more than {limit}). Check the dates, "
                            "or confirm that they are right.") if days > 0 else
                         N_("The visit is {days} days before the deadline (more than {limit}). Check the dates, "
                            "or confirm that they are right."), days=abs(days), limit=FAR_VISIT_DAYS)


class CustomerHasServices(RecordError):
    """Deleting a customer who still has services, without with_services=True."""

    http_status = 409

    def __init__(self, id: int, count: int):
        self.count = count
        super().__init__(N_("Customer {id} has {count} services. Delete those services too (admin), or keep the "
                            "customer.") if count != 1 else
                         N_("Customer {id} has 1 service. Delete that service too (admin), or keep the customer."),
                         id=id, count=Count(count))


class StubNeedsName(RecordError):
    """A correction of a stub customer (known only by a service's id_cliente) that gives no name: the
    request is valid, the customer's state needs more of it (a conflict)."""

    http_status = 409

    def __init__(self, id: int):
        super().__init__(N_("Customer {id} is a stub (known only by a service's id_cliente): send its nome to "
                            "complete it."), id=id)


# --- records ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Customer:
    id: int
    nome: str | None  # None: a stub made by a service load for an id not yet in the customers file
    email: str | None
    telefone: str | None
    is_stub: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Service:
    id: int  # id_atendimento
    id_cliente: int
    angel: str
    polo: str
    data_limite: date
    data_de_atendimento: datetime | None
    status: str  # core.definitions.STATUSES, as of the day the caller asked (as_of)
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CustomerFilter:
    """Customers matching every given field; text matches ignore case and accents, anywhere."""
    id: int | None = None
    nome: str | None = None
    email: str | None = None
    telefone: str | None = None
    stubs: bool | None = None  # True: only stubs; False: only real customers

    def __post_init__(self):
        _checked(self.nome, N_("name"), text.LIMITS["nome"])
        _checked(self.email, N_("email"), text.LIMITS["email"])
        _checked(self.telefone, N_("phone"), text.PHONE_INPUT_MAX)


@dataclass(frozen=True)
class ServiceFilter:
    """Services matching every given field; ranges inclusive at both ends. A status is judged as of
    the day the reading function is given (`as_of`: the operation's today)."""
    id: int | None = None
    id_cliente: int | None = None
    angel: str | None = None
    polo: str | None = None
    deadline_from: date | None = None
    deadline_to: date | None = None
    visit_from: date | None = None
    visit_to: date | None = None
    visit_at: datetime | None = None  # exactly this visit timestamp
    status: str | None = None  # on_time | late | not_visited | open
    open_on: date | None = None  # no visit dated on or before this day (the operation's day, core.operation_day)

    def __post_init__(self):
        _checked(self.angel, N_("angel"), text.LIMITS["angel"])
        _checked(self.polo, N_("polo"), text.LIMITS["polo"])
        if self.status is not None and self.status not in STATUSES:
            raise RecordError(N_("Unknown status {status!r}: choose one of on time, late, not visited, open."),
                              status=self.status)  # core.definitions.STATUSES and STATUS_LABELS
        for start, end, what in ((self.deadline_from, self.deadline_to, N_("deadline")),
                                 (self.visit_from, self.visit_to, N_("visit"))):
            if start and end and start > end:
                raise RecordError(N_("The {what} range starts ({start}) after it ends ({end})."), what=what,
                                  start=start, end=end)


def _audit_values(record) -> dict[str, Any]:
    """What the audit log keeps of a record: its fields, without bookkeeping."""
    skip = {"created_at", "updated_at", "is_stub", "status"}
    return {f.name: getattr(record, f.name) for f in fields(record) if f.name not in skip}


# --- validation ---------------------------------------------------------------------------------

def _positive_id(value: Any, what: str) -> int:
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        raise RecordError(N_("The {what} must be a whole number, not {value!r}."), what=what, value=value) from None
    if isinstance(number, bool) or number <= 0:
        raise RecordError(N_("The {what} must be a positive whole number."), what=what)
    if number > ID_MAX:
        raise RecordError(N_("The {what} is too large (at most {limit})."), what=what, limit=ID_MAX)
    return number


def _text(value: Any) -> str | None:
    words = " ".join(str(value).split()) if value is not None else ""
    return words or None


def _checked(value: Any, what: str, limit: int | None = None) -> str | None:
    """Text from a form, a filter or the API as stored: control characters refused first (core.text's
    rule: str.split() would quietly turn a tab or a line break into a space), runs of whitespace
    made one space, at most `limit` characters; None when empty."""
    try:
        text.check(None if value is None else str(value), what=what)
        return text.check(_text(value), what=what, limit=limit)
    except text.TextRefused as exc:
        raise RecordError(exc.template, **exc.values) from None


def clean_phone(value: Any) -> str | None:
    """A phone as stored ('(21) 99876-5432' -> '21998765432'); None when empty (core.text's and
    core.contact's rules)."""
    _checked(value, N_("phone"), text.PHONE_INPUT_MAX)
    try:
        return contact.clean_phone(value)
    except contact.ContactError as exc:
        raise RecordError(exc.template, **exc.values) from None


def clean_email(value: Any) -> str | None:
    """An email as stored; None when empty (core.text's and core.contact's rules)."""
    _checked(value, N_("email"), text.LIMITS["email"])
    try:
        return contact.clean_email(value)
    except contact.ContactError as exc:
        raise RecordError(exc.template, **exc.values) from None


def _parse_date(value: Any, what: str) -> date:
    if isinstance(value, date):
        moment = value if isinstance(value, datetime) else datetime.combine(value, time())
        return _known_day(moment, what).date()
    written = _checked(value, what)
    if written is None:
        raise RecordError(N_("The {what} is required."), what=what)
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            parsed = datetime.strptime(written, fmt)
        except ValueError:
            continue
        return _known_day(parsed, what).date()
    raise RecordError(N_("The {what} {text!r} is not a valid date (DD/MM/YYYY)."), what=what, text=written)


def _parse_visit(value: Any) -> datetime | None:
    if value is None:
        return value
    if isinstance(value, datetime):
        return _known_day(value, N_("visit"))
    if isinstance(value, date):
        return _known_day(datetime.combine(value, time()), N_("visit"))
    written = _checked(value, N_("visit"))
    if written is None:
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d",
                "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y"):
        try:
            parsed = datetime.strptime(written, fmt)
        except ValueError:
            continue
        return _known_day(parsed, N_("visit"))
    raise RecordError(N_("The visit {text!r} is not a valid date and time (DD/MM/YYYY HH:MM)."), text=written)


def _known_day(moment: datetime, what: str) -> datetime:
    """`moment` if its day is one the product takes (core.definitions.FIRST_DAY..LAST_DAY, as the
    loader); RecordError otherwise."""
    if not FIRST_DAY <= moment.date() <= LAST_DAY:
        raise RecordError(N_("The {what} must be between {first} and {last}."), what=what, first=FIRST_DAY,
                          last=LAST_DAY)
    return moment


def _customer_values(nome, email, telefone) -> dict[str, Any]:
    nome = _checked(nome, N_("name"), text.LIMITS["nome"])
    if nome is None:
        raise RecordError(N_("The name is required."))
    return {"nome": nome, "email": clean_email(email), "telefone": clean_phone(telefone)}


def _check_email_free(conn: Connection, email: str | None, id: int) -> None:
    if email is None:
        return
    other = conn.scalar(sa.text("SELECT id FROM customers WHERE lower(email) = lower(:e) AND id <> :id"),
                        {"e": email, "id": id})
    if other is not None:
        raise EmailTaken(N_("The email {email} is already used by customer {id}."), email=email, id=other)


def _service_values(conn: Connection, *, id_cliente, angel, polo, data_limite, data_de_atendimento,
                    confirm_far_visit: bool, create_missing_customer: bool) -> dict[str, Any]:
    values = {
        "id_cliente": _positive_id(id_cliente, N_("customer id")),
        "angel": _checked(angel, N_("angel"), text.LIMITS["angel"]),
        "polo": _checked(polo, N_("polo"), text.LIMITS["polo"]),
        "data_limite": _parse_date(data_limite, N_("deadline")),
        "data_de_atendimento": _parse_visit(data_de_atendimento),
    }
    if values["angel"] is None:
        raise RecordError(N_("The angel is required."))
    if values["polo"] is None:
        raise RecordError(N_("The polo is required."))
    visit = values["data_de_atendimento"]
    if visit is not None and not confirm_far_visit:
        days = (visit.date() - values["data_limite"]).days
        if abs(days) > FAR_VISIT_DAYS:
            raise FarVisit(days)
    exists = conn.scalar(sa.text("SELECT 1 FROM customers WHERE id = :id"), {"id": values["id_cliente"]})
    if not exists and not create_missing_customer:
        raise UnknownCustomer(values["id_cliente"])
    return values


def _write(conn: Connection, statement: str, params: dict[str, Any]) -> sa.Row | None:
    """Run one write in a savepoint, turning a constraint violation into a plain message.

    The checks above run first; this catches what only the database can see (a concurrent user
    taking the same email or id), and the savepoint keeps the caller's transaction usable.
    Returns the first row of a RETURNING clause (None when it returned nothing).
    """
    try:
        with conn.begin_nested():
            result = conn.execute(sa.text(statement), params)
            return result.first() if result.returns_rows else None
    except sa.exc.IntegrityError as exc:
        detail = str(exc.orig)
        if "customers_email_key" in detail:
            raise EmailTaken(N_("The email {email} is already used by another customer."),
                             email=params.get("email")) from None
        if "_pkey" in detail:
            raise IdTaken(N_("The id {id} is already taken."), id=params.get("id")) from None
        if "foreign key" in detail:
            raise RecordError(N_("The record is still referenced by another record.")) from None
        # The driver's text names the values (DETAIL: Key (...)=(...)): logged, never shown.
        log.warning("a write was refused by a constraint: %s", type(exc.orig).__name__)
        raise RecordError(N_("The database refused the change (a rule on the data was broken); nothing was "
                             "saved.")) from None


# --- customers ----------------------------------------------------------------------------------

_CUSTOMER_COLUMNS = "id, nome, email, telefone, is_stub, created_at, updated_at"


def get_customer(conn: Connection, *, id: int) -> Customer | None:
    """One customer, or None."""
    row = conn.execute(sa.text(f"SELECT {_CUSTOMER_COLUMNS} FROM customers WHERE id = :id"),
                       {"id": id}).mappings().first()
    return Customer(**row) if row else None


def _customer_for_update(conn: Connection, id: Any) -> Customer:
    id = _positive_id(id, N_("customer id"))
    row = conn.execute(sa.text(f"SELECT {_CUSTOMER_COLUMNS} FROM customers WHERE id = :id FOR UPDATE"),
                       {"id": id}).mappings().first()
    if row is None:
        raise NotFound(NO_CUSTOMER, id=id)
    return Customer(**row)


def create_customer(conn: Connection, *, actor: Actor, id: Any = None, nome: Any, email: Any = None,
                    telefone: Any = None) -> Customer:
    """Register a customer (analyst). Email and phone are optional but must be valid.

    id None takes the next free id (above every existing one); a given id that exists raises IdTaken.
    """
    require(actor, "analyst")
    values = _customer_values(nome, email, telefone)
    insert = "INSERT INTO customers (id, nome, email, telefone) VALUES (:id, :nome, :email, :telefone)"
    with timed("records.create_customer"):
        if id is None:
            _check_email_free(conn, values["email"], 0)
            row = _insert_with_next_id(conn, "customers", insert, values, _CUSTOMER_COLUMNS)
        else:
            id = _positive_id(id, N_("customer id"))
            existing = get_customer(conn, id=id)
            if existing is not None:
                raise IdTaken(N_("Customer {id} already exists. It is a stub from a service load: edit it to give "
                                 "it a name.") if existing.is_stub else N_("Customer {id} already exists."), id=id)
            _check_email_free(conn, values["email"], id)
            row = _write(conn, f"{insert} RETURNING {_CUSTOMER_COLUMNS}", {"id": id, **values})
    customer = Customer(**row._mapping)
    audit.record(conn, username=actor.username, action="create", entity="customer", entity_id=customer.id,
                 after=_audit_values(customer))
    return customer


def update_customer(conn: Connection, *, actor: Actor, id: Any, nome: Any, email: Any = None,
                    telefone: Any = None) -> Customer:
    """Correct a customer (analyst); giving a stub a name makes it a real customer."""
    require(actor, "analyst")
    values = _customer_values(nome, email, telefone)
    before = _customer_for_update(conn, id)
    if all(getattr(before, k) == v for k, v in values.items()):
        return before  # nothing changed: no write, no audit row
    _check_email_free(conn, values["email"], before.id)
    with timed("records.update_customer"):
        _write(conn, "UPDATE customers SET nome = :nome, email = :email, telefone = :telefone, "
                     "updated_at = now() WHERE id = :id", {"id": before.id, **values})
    after = get_customer(conn, id=before.id)
    audit.record(conn, username=actor.username, action="update", entity="customer", entity_id=before.id,
                 before=_audit_values(before), after=_audit_values(after))
    return after


def delete_customer(conn: Connection, *, actor: Actor, id: Any, with_services: bool = False) -> int:
    """Delete a customer (admin). Refused if they have services, unless with_services=True,
    which deletes those services too (each audited). Returns the number of services deleted."""
    require(actor, "admin")
    before = _customer_for_update(conn, id)
    services = conn.execute(sa.text(f"SELECT {_SERVICE_AUDITED} FROM services WHERE id_cliente = :id "
                                    "ORDER BY id FOR UPDATE"), {"id": before.id}).mappings().all()
    if services and not with_services:
        raise CustomerHasServices(before.id, len(services))
    with timed("records.delete_customer", services=len(services)):
        for service in services:
            _write(conn, "DELETE FROM services WHERE id = :id", {"id": service["id"]})
            audit.record(conn, username=actor.username, action="delete", entity="service",
                         entity_id=service["id"], before=dict(service))
        _write(conn, "DELETE FROM customers WHERE id = :id", {"id": before.id})
    audit.record(conn, username=actor.username, action="delete", entity="customer", entity_id=before.id,
                 before=_audit_values(before))
    return len(services)


# The customers' text searches: the filter's field, the stored searched column of customers, the
# same text in customer_search_blocks (the table: migration 0020; the functions and triggers that keep
# it: core/sql/customer_search.sql), and how a term is folded to compare with it.
_TEXT_SEARCHES = (
    ("nome", "nome_busca", "names", "fold_text"),   # nome_busca = fold_text(nome)
    ("email", "email_busca", "emails", "lower"),    # email_busca = lower(email)
)
SEARCH_BLOCKS = 1024  # a customer's search block is id % 1024 (migration 0020)
# Matching blocks up to which the search rechecks only their customers (the expression index on
# id % 1024); beyond, it reads the table as it would without blocks. A block's ~560 customers are
# spread over the whole table: rechecking one costs 0.6-1 ms, 32 about half a scan of the table
# (measured on 577k customers).
SEARCH_BLOCKS_RECHECKED = 32


def _customer_where(conn: Connection, f: CustomerFilter) -> tuple[list[str], dict[str, Any]] | None:
    """The conditions and parameters of a customer filter; None when it surely matches nothing.

    A name or email search first looks for its pattern in customer_search_blocks: each block's
    text holds every value of its customers (a superset), so a customer matching the pattern is in
    a block matching it. No block: no customer, and no scan of customers. A few blocks: only their
    customers are read (and rechecked by the same condition, so the result is exact)."""
    where, params = [], {}
    if f.id is not None:
        where.append("id = :f_id")
        params["f_id"] = _positive_id(f.id, N_("customer id"))
    searched, terms = [], {}
    for field, column, block_column, fold in _TEXT_SEARCHES:
        term = _text(getattr(f, field))
        if term:
            # The user's % and _ are literal (text.like_pattern), so the pattern means "contains the folded
            # term": in the blocks, strpos says the same, and scans their text about twice as fast
            # as LIKE (which slows down on patterns starting with a common letter; measured).
            where.append(f"{column} LIKE {fold}(:f_{field}) ESCAPE '\\'")
            params[f"f_{field}"] = text.like_pattern(term)
            searched.append(f"strpos({block_column}, {fold}(:t_{field})) > 0")
            terms[f"t_{field}"] = term
    if _text(f.telefone):
        digits = re.sub(r"\D", "", f.telefone)
        if not digits:
            raise RecordError(N_("Search the phone by its digits."))
        where.append("telefone LIKE :f_tel")
        params["f_tel"] = f"%{digits}%"
    if f.stubs is not None:
        where.append("is_stub = :f_stub")
        params["f_stub"] = f.stubs
    if searched:
        # LIMIT: a common term matches many blocks early; past the threshold the blocks do not help.
        blocks = conn.scalar(sa.text(
            "SELECT array_agg(block) FROM (SELECT block FROM customer_search_blocks WHERE "
            + " AND ".join(searched) + " LIMIT :blocks_max) b"),
            {**terms, "blocks_max": SEARCH_BLOCKS_RECHECKED + 1})
        if not blocks:
            return None
        if len(blocks) <= SEARCH_BLOCKS_RECHECKED:
            where.append(f"id % {SEARCH_BLOCKS} = ANY(:f_blocks)")
            params["f_blocks"] = sorted(blocks)
    return where, params


def _page_sql(select: str, where: list[str], *, after: int | None, before: int | None,
              from_end: bool, limit: int, offset: int = 0) -> tuple[str, dict[str, Any]]:
    """Keyset page in id order (core.db.keyset_page), its size and offset checked.

    `offset` skips rows first (the original API's paging): every skipped row is read, so it is
    for old clients only; a keyset cursor costs the same at any depth."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise RecordError(N_("The page size must be between 1 and {max}."), max=MAX_PAGE_SIZE)
    if offset < 0:
        raise RecordError(N_("The offset cannot be negative."))
    return keyset_page(select, where, after=after, before=before, from_end=from_end, limit=limit, offset=offset)


def list_customers(conn: Connection, *, filters: CustomerFilter = CustomerFilter(), after: int | None = None,
                   before: int | None = None, from_end: bool = False, limit: int = 50,
                   offset: int = 0) -> list[Customer]:
    """One page of customers in id order: after `after`, before `before`, or the last `limit`
    (`offset` rows skipped first: see _page_sql)."""
    with timed("records.list_customers", limit=limit) as info:
        found = _customer_where(conn, filters)
        where, params = found or ([], {})
        sql, page_params = _page_sql(f"SELECT {_CUSTOMER_COLUMNS} FROM customers", where, after=after,
                                     before=before, from_end=from_end, limit=limit, offset=offset)
        rows = conn.execute(sa.text(sql), {**params, **page_params}).mappings().all() if found else []
        info["rows"] = len(rows)
    return [Customer(**r) for r in rows]


def count_customers(conn: Connection, *, filters: CustomerFilter = CustomerFilter()) -> int:
    """How many customers match the filters."""
    with timed("records.count_customers"):
        found = _customer_where(conn, filters)
        if found is None:
            return 0
        where, params = found
        return conn.scalar(sa.text("SELECT count(*) FROM customers"
                                   + (" WHERE " + " AND ".join(where) if where else "")), params)


def find_customers(conn: Connection, *, filters: CustomerFilter = CustomerFilter(), after: int | None = None,
                   before: int | None = None, from_end: bool = False,
                   limit: int = 50) -> tuple[list[Customer], int]:
    """A page of customers and the total count of the filter."""
    return (list_customers(conn, filters=filters, after=after, before=before, from_end=from_end, limit=limit),
            count_customers(conn, filters=filters))


@dataclass(frozen=True)
class SearchCompaction:
    """What compact_search_blocks did: the search blocks and the bytes of their text, before and after."""
    blocks_before: int
    blocks_after: int
    bytes_before: int
    bytes_after: int
    seconds: float


def _search_blocks_size(conn: Connection) -> tuple[int, int]:
    """(blocks, bytes of their text): octet_length of their uncompressed text reads only its TOAST pointer."""
    blocks, size = conn.execute(sa.text(
        "SELECT count(*), coalesce(sum(octet_length(emails) + octet_length(names)), 0) "
        "FROM customer_search_blocks")).one()
    return blocks, size


def compact_search_blocks(conn: Connection, *, actor: Actor) -> SearchCompaction:
    """Rebuild the customers' search blocks from the customers now (`python -m core db compact-search`).

    Edits by hand (pages, API) only append to the blocks: every changed name or email adds its new
    value and the old stays (core/sql/customer_search.sql), so a search reads more text with every
    edit until a customers load compacts them. This rebuilds them whatever their size, in the
    caller's transaction, audited there (admin: database maintenance, as backup and restore).
    Customers' writers wait for it (SHARE lock, taken on customers before the blocks, the order
    their triggers take them in), and so do searches (about 0.35 s on 577k customers)."""
    require(actor, "admin")
    start = perf_counter()
    with timed("records.compact_search_blocks") as info:
        conn.execute(sa.text("LOCK TABLE customers IN SHARE MODE"))
        blocks_before, bytes_before = _search_blocks_size(conn)
        conn.execute(sa.text("SELECT rebuild_customer_search_blocks()"))
        blocks_after, bytes_after = _search_blocks_size(conn)
        info["rows"] = blocks_after
    audit.record(conn, username=actor.username, action="update", entity="database",
                 entity_id="customer_search_blocks", before={"blocks": blocks_before, "bytes": bytes_before},
                 after={"blocks": blocks_after, "bytes": bytes_after})
    return SearchCompaction(blocks_before=blocks_before, blocks_after=blocks_after, bytes_before=bytes_before,
                            bytes_after=bytes_after, seconds=perf_counter() - start)


# --- services -----------------------------------------------------------------------------------

# What the audit log keeps of a service (_audit_values): its fields, without bookkeeping.
_SERVICE_AUDITED = "id, id_cliente, angel, polo, data_limite, data_de_atendimento"
# Statuses are as of :as_of, the day the caller asks about: the operation's today
# (core.operation_day.today, in TIMEZONE) for every front end; never the server's date.
_SERVICE_COLUMNS = f"{_SERVICE_AUDITED}, {status_case()} AS status, created_at, updated_at"


def get_service(conn: Connection, *, id: int, as_of: date) -> Service | None:
    """One service (its status as of `as_of`), or None."""
    row = conn.execute(sa.text(f"SELECT {_SERVICE_COLUMNS} FROM services WHERE id = :id"),
                       {"id": id, "as_of": as_of}).mappings().first()
    return Service(**row) if row else None


def _service_for_update(conn: Connection, id: Any, as_of: date) -> Service:
    id = _positive_id(id, N_("service id"))
    row = conn.execute(sa.text(f"SELECT {_SERVICE_COLUMNS} FROM services WHERE id = :id FOR UPDATE"),
                       {"id": id, "as_of": as_of}).mappings().first()
    if row is None:
        raise NotFound(NO_SERVICE, id=id)
    return Service(**row)


def ensure_customer(conn: Connection, *, actor: Actor, id: Any) -> bool:
    """Create a stub customer (known only by its id, audited) unless customer `id` exists (analyst).

    Returns True when it created the stub. Safe when two clients add services for the same new
    customer at once: both succeed, one creates the stub.
    """
    require(actor, "analyst")
    id = _positive_id(id, N_("customer id"))
    if conn.scalar(sa.text("SELECT 1 FROM customers WHERE id = :id"), {"id": id}):
        return False  # the usual case, read without writing (a write would bump the data version)
    created = _write(conn, "INSERT INTO customers (id) VALUES (:id) ON CONFLICT (id) DO NOTHING RETURNING id",
                     {"id": id})
    if created is None:
        return False
    audit.record(conn, username=actor.username, action="create", entity="customer", entity_id=id,
                 after={"id": id, "nome": None, "email": None, "telefone": None})
    return True


# Sequences that hand out the ids of records created without one (migration 0011).
_NEXT_ID_SEQUENCES = {"services": "services_next_id_seq", "customers": "customers_next_id_seq"}
_NEXT_ID_ATTEMPTS = 100
_RECORD = {"services": N_("service"), "customers": N_("customer")}  # a table's record, in words


def _insert_with_next_id(conn: Connection, table: str, insert: str, params: dict[str, Any],
                         returning: str) -> sa.Row:
    """Run `insert` (an INSERT ... VALUES with :id) with the next free id of `table`; return the
    new row's `returning` columns.

    The id comes from a sequence, so concurrent creates never wait for one another to get an id.
    The sequence is compared with max(id) (one probe of the primary key): a file load, an explicit
    id or a restore may have overtaken it, and then it is moved past max(id) and the next value is
    taken, so a new id is always above every id committed before. ON CONFLICT covers the rest: an
    explicit id that a transaction not yet committed took; that id is skipped.
    """
    sequence = _NEXT_ID_SEQUENCES[table]
    for _ in range(_NEXT_ID_ATTEMPTS):
        id, top = conn.execute(sa.text(
            f"SELECT nextval('{sequence}'), (SELECT max(id) FROM {table})")).one()
        if (top or 0) >= ID_MAX:  # a valid request, but no id is left above the highest: a conflict
            raise IdTaken(N_("No {what} id is free above the highest, {id}, the largest an id can be; give the id."),
                          what=_RECORD[table], id=top)
        if top is not None and id <= top:
            # greatest(): never move the sequence back below what other creates already took
            conn.execute(sa.text(f"SELECT setval('{sequence}', greatest(:top, last_value)) FROM {sequence}"),
                         {"top": top})
            continue
        row = _write(conn, f"{insert} ON CONFLICT (id) DO NOTHING RETURNING {returning}", {**params, "id": id})
        if row is not None:
            return row
    raise RecordError(N_("No free {what} id found after {attempts} attempts; try again."), what=_RECORD[table],
                      attempts=_NEXT_ID_ATTEMPTS)


def next_service_id(conn: Connection) -> int:
    """The id to offer for a new service: one more than the highest."""
    return conn.scalar(sa.text("SELECT coalesce(max(id), 0) + 1 FROM services"))


def create_service(conn: Connection, *, actor: Actor, id: Any = None, id_cliente: Any, angel: Any, polo: Any,
                   data_limite: Any, data_de_atendimento: Any = None, confirm_far_visit: bool = False,
                   create_missing_customer: bool = False, as_of: date) -> Service:
    """Register a service (analyst); returns it with its status as of `as_of`. Its id is the
    operation's id_atendimento: given, or None for the next free id (above every existing one). A
    given id that exists raises IdTaken.

    An unknown id_cliente raises UnknownCustomer unless create_missing_customer, which creates a
    stub customer (audited) to fill in later. A visit more than FAR_VISIT_DAYS from the deadline
    raises FarVisit unless confirm_far_visit.
    """
    require(actor, "analyst")
    if id is not None:
        id = _positive_id(id, N_("service id"))
    values = _service_values(conn, id_cliente=id_cliente, angel=angel, polo=polo, data_limite=data_limite,
                             data_de_atendimento=data_de_atendimento, confirm_far_visit=confirm_far_visit,
                             create_missing_customer=create_missing_customer)
    if id is not None and conn.scalar(sa.text("SELECT 1 FROM services WHERE id = :id"), {"id": id}):
        raise IdTaken(N_("Service {id} already exists (the next free id is {next})."), id=id,
                      next=next_service_id(conn))
    insert = ("INSERT INTO services (id, id_cliente, angel, polo, data_limite, data_de_atendimento) "
              "VALUES (:id, :id_cliente, :angel, :polo, :data_limite, :data_de_atendimento)")
    params = {**values, "as_of": as_of}
    with timed("records.create_service"):
        if create_missing_customer:  # else _service_values found the customer
            ensure_customer(conn, actor=actor, id=values["id_cliente"])
        # The new row comes back from the INSERT: the rollup and data version rows it locks are
        # held until the commit, so the fewer round trips after it, the more creates run at once.
        if id is None:
            row = _insert_with_next_id(conn, "services", insert, params, _SERVICE_COLUMNS)
        else:
            row = _write(conn, f"{insert} RETURNING {_SERVICE_COLUMNS}", {"id": id, **params})
    service = Service(**row._mapping)
    audit.record(conn, username=actor.username, action="create", entity="service", entity_id=service.id,
                 after=_audit_values(service))
    return service


def update_service(conn: Connection, *, actor: Actor, id: Any, id_cliente: Any, angel: Any, polo: Any,
                   data_limite: Any, data_de_atendimento: Any = None, confirm_far_visit: bool = False,
                   create_missing_customer: bool = False, as_of: date) -> Service:
    """Correct a service (analyst): every field but its id. Same checks as create_service; returns it
    with its status as of `as_of`."""
    require(actor, "analyst")
    before = _service_for_update(conn, id, as_of)
    values = _service_values(conn, id_cliente=id_cliente, angel=angel, polo=polo, data_limite=data_limite,
                             data_de_atendimento=data_de_atendimento, confirm_far_visit=confirm_far_visit,
                             create_missing_customer=create_missing_customer)
    if all(getattr(before, k) == v for k, v in values.items()):
        return before
    with timed("records.update_service"):
        if create_missing_customer:  # else _service_values found the customer
            ensure_customer(conn, actor=actor, id=values["id_cliente"])
        _write(conn, "UPDATE services SET id_cliente = :id_cliente, angel = :angel, polo = :polo, "
                     "data_limite = :data_limite, data_de_atendimento = :data_de_atendimento, "
                     "updated_at = now() WHERE id = :id", {"id": before.id, **values})
    after = get_service(conn, id=before.id, as_of=as_of)
    audit.record(conn, username=actor.username, action="update", entity="service", entity_id=before.id,
                 before=_audit_values(before), after=_audit_values(after))
    return after


def delete_service(conn: Connection, *, actor: Actor, id: Any, as_of: date) -> Service:
    """Delete a service (admin); returns what was deleted (its status as of `as_of`)."""
    require(actor, "admin")
    before = _service_for_update(conn, id, as_of)
    with timed("records.delete_service"):
        _write(conn, "DELETE FROM services WHERE id = :id", {"id": before.id})
    audit.record(conn, username=actor.username, action="delete", entity="service", entity_id=before.id,
                 before=_audit_values(before))
    return before


def _service_where(f: ServiceFilter) -> tuple[list[str], dict[str, Any]]:
    where, params = conditions([
        ("id = :f_id", "f_id", None if f.id is None else _positive_id(f.id, N_("service id"))),
        ("id_cliente = :f_cliente", "f_cliente",
         None if f.id_cliente is None else _positive_id(f.id_cliente, N_("customer id"))),
        # angel and polo are chosen from existing values: exact match, which the (polo, id) and
        # (angel, id) indexes serve in id order.
        ("angel = :f_angel", "f_angel", _text(f.angel)),
        ("polo = :f_polo", "f_polo", _text(f.polo)),
        ("data_limite >= :f_dl_from", "f_dl_from", f.deadline_from),
        ("data_limite <= :f_dl_to", "f_dl_to", f.deadline_to),
        ("data_de_atendimento >= :f_v_from", "f_v_from", f.visit_from),
        # inclusive: a visit at 23:59 on visit_to is in
        ("data_de_atendimento < :f_v_to", "f_v_to", f.visit_to and f.visit_to + timedelta(days=1)),
        ("data_de_atendimento = :f_v_at", "f_v_at", f.visit_at),
        ("(data_de_atendimento IS NULL OR data_de_atendimento >= :f_open_after)", "f_open_after",
         f.open_on and f.open_on + timedelta(days=1)),
    ])
    if f.status:
        where.append(status_condition(f.status))
    return where, params


def list_services(conn: Connection, *, filters: ServiceFilter = ServiceFilter(), after: int | None = None,
                  before: int | None = None, from_end: bool = False, limit: int = 50, offset: int = 0,
                  as_of: date) -> list[Service]:
    """One page of services in id order: after `after`, before `before`, or the last `limit`
    (`offset` rows skipped first: see _page_sql).

    Statuses (and the status filter) are as of `as_of`."""
    where, params = _service_where(filters)
    sql, page_params = _page_sql(f"SELECT {_SERVICE_COLUMNS} FROM services", where, after=after,
                                 before=before, from_end=from_end, limit=limit, offset=offset)
    with timed("records.list_services", limit=limit) as info:
        rows = conn.execute(sa.text(sql), {**params, **page_params,
                                           "as_of": as_of}).mappings().all()
        info["rows"] = len(rows)
    return [Service(**r) for r in rows]


def count_services(conn: Connection, *, filters: ServiceFilter = ServiceFilter(), as_of: date) -> int:
    """How many services match the filters (the status filter as of `as_of`)."""
    where, params = _service_where(filters)
    with timed("records.count_services"):
        return conn.scalar(sa.text("SELECT count(*) FROM services"
                                   + (" WHERE " + " AND ".join(where) if where else "")),
                           {**params, "as_of": as_of})


def find_services(conn: Connection, *, filters: ServiceFilter = ServiceFilter(), after: int | None = None,
                  before: int | None = None, from_end: bool = False, limit: int = 50,
                  as_of: date) -> tuple[list[Service], int]:
    """A page of services and the total count of the filter."""
    return (list_services(conn, filters=filters, after=after, before=before, from_end=from_end,
                          limit=limit, as_of=as_of),
            count_services(conn, filters=filters, as_of=as_of))


def iter_services(conn: Connection, *, filters: ServiceFilter = ServiceFilter(), as_of: date, batch: int = 1000):
    """Every matching service in id order, read page by page (for downloads)."""
    after = None
    while True:
        rows = list_services(conn, filters=filters, after=after, limit=batch, as_of=as_of)
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].id


def iter_customers(conn: Connection, *, filters: CustomerFilter = CustomerFilter(), batch: int = 1000):
    """Every matching customer in id order, read page by page (for downloads)."""
    after = None
    while True:
        rows = list_customers(conn, filters=filters, after=after, limit=batch)
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].id


def service_choices(conn: Connection) -> dict[str, list[str]]:
    """Existing polos and angels for pickers, {'polos': [...], 'angels': [...]}.

    Read by a loose index scan (one index probe per distinct value), fast on a million rows."""
    with timed("records.service_choices"):
        pairs = conn.execute(sa.text("""
            WITH RECURSIVE polos AS (
                (SELECT polo FROM services ORDER BY polo LIMIT 1)
                UNION ALL
                SELECT (SELECT s.polo FROM services s WHERE s.polo > p.polo ORDER BY s.polo LIMIT 1)
                FROM polos p WHERE p.polo IS NOT NULL
            ), angels AS (
                (SELECT angel FROM services ORDER BY angel LIMIT 1)
                UNION ALL
                SELECT (SELECT s.angel FROM services s WHERE s.angel > a.angel ORDER BY s.angel LIMIT 1)
                FROM angels a WHERE a.angel IS NOT NULL
            )
            SELECT 'polo' AS kind, polo AS value FROM polos WHERE polo IS NOT NULL
            UNION ALL
            SELECT 'angel', angel FROM angels WHERE angel IS NOT NULL""")).all()
    return {"polos": sorted(v for k, v in pairs if k == "polo"),
            "angels": sorted(v for k, v in pairs if k == "angel")}


def angels_of_polo(conn: Connection, *, polo: str) -> list[str]:
    """The angels who have services in a polo."""
    return list(conn.scalars(sa.text("SELECT DISTINCT angel FROM services WHERE polo = :p ORDER BY angel"),
                             {"p": polo}))


def as_dict(record) -> dict[str, Any]:
    """A record as a plain dict (tables, downloads)."""
    return asdict(record)


EXPORT_MAX_ROWS = 1_048_576  # the whole services file fits; a spreadsheet holds no more anyway


def export_services(conn: Connection, *, filters: ServiceFilter = ServiceFilter(), as_of: date,
                    max_rows: int = EXPORT_MAX_ROWS) -> list[Service]:
    """The matching services in id order (at most max_rows), for a download."""
    with timed("records.export_services") as info:
        rows = list(itertools.islice(iter_services(conn, filters=filters, as_of=as_of, batch=5000), max_rows))
        info["rows"] = len(rows)
    return rows


def export_customers(conn: Connection, *, filters: CustomerFilter = CustomerFilter(),
                     max_rows: int = EXPORT_MAX_ROWS) -> list[Customer]:
    """The matching customers in id order (at most max_rows), for a download."""
    with timed("records.export_customers") as info:
        rows = list(itertools.islice(iter_customers(conn, filters=filters, batch=5000), max_rows))
        info["rows"] = len(rows)
    return rows
