"""Batch loads: POST a CSV file, follow its job. The same jobs as the Upload page and the CLI."""
from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, File, HTTPException, Query, UploadFile

from api import deps
from api.deps import errors
from api.schemas import Job, JobAccepted, Rejects
from core import loading
from core.accounts import Actor

router = APIRouter(tags=["Loads"])
_FILE = File(description="The CSV file (the operation's export format); streamed to disk, never held in memory.")


def _accept(kind: str, upload: UploadFile, actor: Actor) -> dict:
    settings = deps.settings()
    name = upload.filename or f"{kind}.csv"
    path = loading.spool_upload(settings, source=upload.file, file_name=name)
    try:
        if path.stat().st_size > settings.upload_max_mb * 1_000_000:  # sent without a Content-Length
            raise HTTPException(413, f"{name} is larger than {settings.upload_max_mb} MB (UPLOAD_MAX_MB).")
        info = loading.inspect_file(path, kind=kind, file_name=name)
        job_id = deps.write(loading.create_job, actor=actor, info=info, file_name=name, owns_source=True,
                            settings=settings)
    except BaseException:
        path.unlink(missing_ok=True)  # refused: nothing written, nothing kept
        raise
    loading.start_in_background(deps.engine(), job_id=job_id, actor=actor, settings=settings)
    return {"message": f"{name} is loading as job {job_id}; follow it at its status_url.",
            "job_id": job_id, "status_url": f"/v1/jobs/{job_id}"}


_BATCH = dict(status_code=202, response_model=JobAccepted, responses=errors(401, 403, 413, 422))


@router.post("/v1/services/batch", summary="Load a services file", tags=["Customer Services"], **_BATCH)
def load_services(file: UploadFile = _FILE, actor: Actor = Depends(deps.analyst)):
    """Start loading a services file (`id_atendimento;id_cliente;angel;polo;data_limite;
    data_de_atendimento`, with or without header) as a background job (analyst). A file that is not a
    services file answers 422 and writes nothing; each bad line is listed by the job's rejects."""
    return _accept("services", file, actor)


@router.post("/v1/customers/batch", summary="Load a customers file", tags=["Customers"], **_BATCH)
def load_customers(file: UploadFile = _FILE, actor: Actor = Depends(deps.analyst)):
    """Start loading a customers file (`id;nome;email;telefone`, with or without header) as a background
    job (analyst)."""
    return _accept("customers", file, actor)


def _job(job_id: int) -> loading.LoadJob:
    job = deps.read(loading.get_job, job_id=job_id)
    if job is None:
        raise HTTPException(404, f"There is no load {job_id}.")
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
