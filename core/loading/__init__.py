"""Loading the operation's CSV files: exact, fast, resumable, with live progress.

A load is a job (table load_jobs). Its life, one module per part:
1. files: `inspect_file` reads the first bytes: encoding (UTF-8, with or without BOM, else
   Windows-1252), delimiter, header, kind. A file that is not a services/customers file is refused
   here (`FileRefused`), before anything is written. Uploads wait in the spool (`spool_upload`).
2. jobs: `accept_file` takes a file (inspects it, records its job, starts it): the one way in of the
   Upload page, the API and the CLI (`load_file` waits for it); `run_job` does a job, `resume_job`
   finishes one cut short; a heartbeat tells a running job from one whose process died. `LoadJob`
   (core.loading.job) is a job as every part reads it back.
3. staging: a reader streams the file in byte blocks of about LOAD_CHUNK_ROWS lines; LOAD_WORKERS
   threads parse each block, vectorised (core.parsing: every date form, day-first, impossible
   dates refused, a reason per bad line), and COPY its typed rows into the job's UNLOGGED staging
   table and its bad lines, with line number, raw text and reason, into load_rejects. Each block
   commits with a load_job_chunks row (and its id range), so a resumed job skips staged blocks.
4. merge: in one transaction (serialised between loads): duplicated ids (the later line wins),
   stub customers for unknown id_cliente, then the rows, counting inserted / updated / unchanged
   exactly. The job's figures and the audit row commit with the data.
5. bulk: writes that change most of a table rebuild its indexes and the indicator rollups once
   instead of row by row (see docs/loading.md).

Every data line is accounted for: inserted + updated + unchanged + rejected = rows (blank lines are
not data). Memory stays flat: at most a few blocks are in memory, whatever the file size.
"""
from core.loading.files import (COLUMNS, ENCODING_LABELS, FILE_NAME_MAX, KIND_LABELS, KINDS, FileInfo, FileRefused,
                                FileTooLarge, LoadError, clean_spool, display_name, inspect_file, new_spool_file,
                                spool_dir, spool_upload, start_spool_cleaner, stop_spool_cleaners)
from core.loading.job import JOB_STATUSES, STAGING_SHARE, WRITING_STEPS, LoadJob, Speed
from core.loading.jobs import (JOB_MESSAGES, LoadNotFound, LoadReport, accept_file, create_job, get_job, job_rejects,
                               list_jobs, load_file, rejects_csv, resume_job, run_job, start_in_background)

__all__ = [
    "COLUMNS", "ENCODING_LABELS", "FILE_NAME_MAX", "KIND_LABELS", "KINDS", "FileInfo", "FileRefused", "FileTooLarge",
    "LoadError", "clean_spool", "display_name", "inspect_file", "new_spool_file", "spool_dir", "spool_upload",
    "start_spool_cleaner", "stop_spool_cleaners",
    "JOB_STATUSES", "STAGING_SHARE", "WRITING_STEPS", "LoadJob", "Speed",
    "JOB_MESSAGES", "LoadNotFound", "LoadReport", "accept_file", "create_job", "get_job", "job_rejects", "list_jobs",
    "load_file", "rejects_csv", "resume_job", "run_job", "start_in_background",
]
