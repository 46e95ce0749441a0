"""Request bodies: how much the API takes, and when it reads them (issue 21, items 1 and 13).

- `BodyLimit` (middleware) counts the bytes of every request body as they arrive, with or without
  a Content-Length (chunked): at most JSON_MAX_BYTES, or UPLOAD_MAX_MB (+ the multipart's framing)
  on a batch load route. A larger Content-Length answers 413 before a byte is read; a body that
  grows past it is cut there and answers 413. Nothing bigger is ever held in memory or on disk.
- `TokenFirst` (the record routes' route class): FastAPI parses a JSON body before it checks the
  token; a body that cannot be parsed (not UTF-8, not JSON) answers 422 only to a caller whose
  token and role are good, and 401/403 to anyone else.
- `receive_upload`: the batch routes read nothing until the token and the role are checked (they
  declare no body parameter, so FastAPI leaves the body alone), then stream the multipart body's
  `file` part straight into the load spool in the data directory (no temporary file), counting
  it against UPLOAD_MAX_MB.
"""
from __future__ import annotations

import re
from contextlib import AsyncExitStack
from pathlib import Path

from fastapi import HTTPException, Request
from fastapi.dependencies.utils import solve_dependencies
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.exceptions import HTTPException as StarletteHTTPException

from core import loading
from core.config import Settings

JSON_MAX_BYTES = 64 * 1024          # a record's JSON is well under 2 KB
MULTIPART_FRAMING_BYTES = 64 * 1024  # boundaries and part headers around an upload's file
BATCH_ROUTE = re.compile(r"^/v1/(services|customers)/batch/?$")
UNREADABLE_BODY = "The body is not JSON in UTF-8; send the fields as a JSON object."


def body_limit(scope, settings: Settings) -> tuple[int, str]:
    """(bytes, the 413's message) a request may send."""
    if scope["method"] == "POST" and BATCH_ROUTE.match(scope["path"]):
        return (settings.upload_max_mb * 1_000_000 + MULTIPART_FRAMING_BYTES,
                str(loading.FileTooLarge(settings.upload_max_mb)))
    return JSON_MAX_BYTES, f"The body is larger than {JSON_MAX_BYTES // 1024} KB."


class BodyLimit:
    """ASGI middleware: every request body within body_limit, counted as it arrives."""

    def __init__(self, app, settings):
        self.app, self.settings = app, settings  # settings: a callable (api.deps.settings)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit, message = body_limit(scope, self.settings())
        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            return await _too_large(message)(scope, receive, send)
        received, over, started = 0, False, False

        async def counted():
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True  # the app sees the client go; whatever it answers, 413 goes out
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message):
            nonlocal started
            if over and not started:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not over:
                raise
        if over and not started:
            await _too_large(message)(scope, receive, send)


def _too_large(message: str) -> JSONResponse:
    # Connection: close: the rest of the body is not read; the client must not send another
    # request on this connection.
    return JSONResponse({"error": message}, status_code=413, headers={"Connection": "close"})


def _unreadable(exc: Exception) -> bool:
    """Whether FastAPI's error is about parsing the body (not about its fields)."""
    if isinstance(exc, RequestValidationError):
        return any(e.get("type") == "json_invalid" for e in exc.errors())
    return isinstance(exc, StarletteHTTPException) and exc.status_code == 400  # Starlette's or FastAPI's


class TokenFirst(APIRoute):
    """A route whose caller is checked before a body that cannot be parsed is answered: 422 to a
    caller with a good token and role, the dependency's 401/403 to anyone else."""

    def get_route_handler(self):
        handle = super().get_route_handler()

        async def checked(request: Request):
            try:
                return await handle(request)
            except (RequestValidationError, StarletteHTTPException) as exc:
                if not _unreadable(exc):
                    raise
            # The route's dependencies (the token, the role) run on their own: they raise 401/403.
            async with AsyncExitStack() as stack:
                await solve_dependencies(request=request, dependant=self.dependant, body=None,
                                         async_exit_stack=stack, embed_body_fields=False)
            raise HTTPException(422, UNREADABLE_BODY)

        return checked


async def receive_upload(request: Request, *, kind: str, settings: Settings) -> tuple[str, Path]:
    """(the file's name, its path in the spool) of a multipart upload's `file` part, streamed
    there as it arrives; 413 past UPLOAD_MAX_MB, 422 when the body is no multipart with a file.
    Call it only after the caller's token and role were checked."""
    content_type, options = parse_options_header(request.headers.get("content-type"))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise HTTPException(422, "Send the file as multipart/form-data, in a field named `file`.")
    limit = settings.upload_max_mb * 1_000_000
    part: dict = {}
    upload: dict = {}  # the `file` part: name, out (open spool file), path, size
    ended = False

    def on_part_begin():
        part.clear()
        part["headers"] = []

    def on_header_field(data, start, end):
        part["field"] = part.get("field", b"") + data[start:end]

    def on_header_value(data, start, end):
        part["value"] = part.get("value", b"") + data[start:end]

    def on_header_end():
        part["headers"].append((part.pop("field", b"").lower(), part.pop("value", b"")))

    def on_headers_finished():
        disposition, params = parse_options_header(dict(part["headers"]).get(b"content-disposition"))
        if params.get(b"name") == b"file" and "out" not in upload:
            name = params.get(b"filename", b"").decode("utf-8", "replace")
            out, path = loading.new_spool_file(settings, file_name=name or f"{kind}.csv")
            upload.update(name=name, out=out, path=path, size=0)
            part["file"] = True

    def on_part_data(data, start, end):
        if part.get("file"):
            upload["size"] += end - start
            if upload["size"] > limit:
                raise _FileTooLarge
            upload["out"].write(data[start:end])

    def on_part_end():
        if part.get("file"):
            upload["out"].close()
            part["file"] = False

    def on_end():
        nonlocal ended
        ended = True

    parser = MultipartParser(boundary, callbacks={
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_headers_finished": on_headers_finished, "on_part_data": on_part_data,
        "on_part_end": on_part_end, "on_end": on_end})
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
        if not ended or "path" not in upload or not upload["out"].closed:
            raise HTTPException(422, "The body is not a complete multipart/form-data upload with a field "
                                     "named `file`; send the file as that field.")
    except _FileTooLarge:
        _discard(upload)
        raise loading.FileTooLarge(settings.upload_max_mb) from None
    except HTTPException:
        _discard(upload)
        raise
    except ValueError:  # python_multipart's parse errors
        _discard(upload)
        raise HTTPException(422, "The body is not valid multipart/form-data; send the file in a field named "
                                 "`file`.") from None
    except BaseException:  # the client went away (or the body limit cut it): keep nothing
        _discard(upload)
        raise
    return upload["name"], upload["path"]


class _FileTooLarge(Exception):
    pass


def _discard(upload: dict) -> None:
    if "out" in upload:
        upload["out"].close()
        upload["path"].unlink(missing_ok=True)
