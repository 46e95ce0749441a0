"""/v1/health (no token) and /v1/metrics (admin): the same figures as the Monitoring page."""
from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from api import deps
from api.deps import errors
from api.schemas import Health
from core import loading, operations
from core.accounts import Actor

router = APIRouter(prefix="/v1", tags=["Monitoring"])
ROUTE_PREFIX = "api "  # operation name of every request's timing: "api GET /v1/services/{id}"


@router.get("/health", summary="Health check", response_model=Health, responses={503: {
    "model": Health, "description": "A health check failed (e.g. the database cannot be reached).",
    "content": {"application/json": {"example": {"status": "failing"}}}}})
def health():
    """`{"status": "ok"}` when the database is reachable, the migrations current and the data dir
    writable (and the embedded server up, when used), else 503 with `{"status": "failing"}`; needs no
    token, so it says nothing more: which check failed, and every figure, are in /v1/metrics (admin)."""
    try:
        engine = deps.engine()
    except Exception:  # the engine could not even be set up; the checks say so
        engine = None
    ok = all(c.ok for c in operations.health(deps.settings(), engine=engine))
    return JSONResponse({"status": "ok" if ok else "failing"}, status_code=200 if ok else 503)


def _load(job: loading.LoadJob) -> dict:
    """A load as Monitoring lists it: progress and speed so far (never the server's file path)."""
    speed = job.speed
    return {"id": job.id, "kind": job.kind, "file_name": job.file_name, "username": job.username,
            "status": job.status, "doing": job.doing if job.active else None, "progress": job.progress,
            "rows_read": job.rows_read, "inserted": job.inserted, "updated": job.updated,
            "unchanged": job.unchanged, "rejected": job.rejected, "created_at": job.created_at,
            "seconds": speed.seconds, "rows_per_second": speed.rows_per_second}


@router.get("/metrics", summary="Metrics", responses=errors(401, 403))
def metrics(actor: Actor = Depends(deps.admin)):
    """Totals, recent loads, per-route p50/p95 of this API (last 24 h), other operations' timings,
    database and host figures (admin)."""
    seen = operations.monitor(deps.engine(), settings=deps.settings())
    routes = deps.read(operations.operation_timings, prefix=ROUTE_PREFIX, limit=1000) if seen.database else []
    return {
        "version": seen.version,
        "healthy": seen.healthy,
        "checks": [asdict(c) for c in seen.checks],
        "totals": asdict(seen.totals) if seen.totals else None,
        "loads": [_load(j) for j in seen.loads or []],
        "routes": [{**asdict(t), "route": t.operation.removeprefix(ROUTE_PREFIX)} for t in routes],
        "operations": [asdict(t) for t in seen.timings or [] if not t.operation.startswith(ROUTE_PREFIX)],
        "database": asdict(seen.database) if seen.database else None,
        "host": asdict(seen.host),
    }
