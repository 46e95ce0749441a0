"""Batch loads: POST a CSV file, follow its job. The same jobs as the Upload page and the CLI."""
from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from api import deps
from api.bodies import receive_upload
from api.deps import errors
from api.schemas import Job, JobAccepted, Rejects
from core import loading
from core.accounts import Actor

router = APIRouter(tags=["Loads"])

# The body is read by the route itself, after its token and role are checked (api/bodies.py), so
# FastAPI is told about it here only for the documentation.
_UPLOAD = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {"file": {
        "type": "string", "format": "binary",
        "description": "The CSV file (the operation's export format); streamed to disk, never held in memory."}}}}}}}


def _start(kind: str, name: str, path, actor: Actor) -> dict:
    job = loading.accept_file(deps.engine(), path=path, kind=kind, actor=actor, settings=deps.settings(), spooled=True,
                              file_name=loading.display_name(name, default=f"{kind}.csv"))
    return {"message": f"{job.file_name} is loading as job {job.id}; follow it at its status_url.",
            "job_id": job.id, "status_url": f"/v1/jobs/{job.id}"}


async def _accept(kind: str, request: Request, actor: Actor) -> dict:
    name, path = await receive_upload(request, kind=kind, settings=deps.settings())
    return await run_in_threadpool(_start, kind, name, path, actor)


_BATCH = dict(status_code=202, response_model=JobAccepted, responses=errors(401, 403, 413, 422), openapi_extra=_UPLOAD)


@router.post("/v1/services/batch", summary="Load a services file", tags=["Customer Services"], **_BATCH)
async def load_services(request: Request, actor: Actor = Depends(deps.analyst)):
    """Start loading a services file (`id_atendimento;id_cliente;angel;polo;data_limite;
    data_de_atendimento`, with or without header) as a background job (analyst). A file that is not a
    services file answers 422 and writes nothing; each bad line is listed by the job's rejects."""
    return await _accept("services", request, actor)


@router.post("/v1/customers/batch", summary="Load a customers file", tags=["Customers"], **_BATCH)
async def load_customers(request: Request, actor: Actor = Depends(deps.analyst)):
    """Start loading a customers file (`id;nome;email;telefone`, with or without header) as a background
    job (analyst)."""
    return await _accept("customers", request, actor)


def _job(job_id: int) -> loading.LoadJob:
    job = deps.read(loading.get_job, job_id=job_id)
    if job is None:
        raise loading.LoadNotFound(job_id)
    return job


@router.get("/v1/jobs/{job_id}", summary="A load's status", response_model=Job, responses=errors(401, 403, 404, 422))
def get_job(job_id: deps.RecordId, actor: Actor = Depends(deps.analyst)):
    """Status, progress (0-1), counts and seconds of a load. Every data line ends up inserted,
    updated, unchanged or rejected."""
    job = _job(job_id)
    speed = job.speed
    return {**asdict(job), "rows": job.rows_read, "progress": round(job.progress, 4),
            "doing": job.doing if job.status == "running" else None, "seconds": speed.seconds,
            "rows_per_second": speed.rows_per_second, "rejects_url": f"/v1/jobs/{job_id}/rejects"}


@router.get("/v1/jobs/{job_id}/rejects", summary="A load's rejected lines", response_model=Rejects,
            responses=errors(401, 403, 404, 422))
def job_rejects(job_id: deps.RecordId, limit: int = Query(1000, ge=1, le=100_000, description="Lines at most."),
                actor: Actor = Depends(deps.analyst)):
    """The lines a load set aside, in file order: line number, plain-language reason, raw text."""
    _job(job_id)
    rejects = deps.read(loading.job_rejects, job_id=job_id, limit=limit)
    return {"job_id": job_id, "rejects": rejects, "total_por_pagina": len(rejects)}
