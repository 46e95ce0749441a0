"""Benchmark: what an unauthenticated, oversized request body costs the API process (issue 21, item 1).

    .venv/bin/python -m bench.bodies [--json-mb 60] [--multipart-mb 80]

Starts `python -m api` in its own process over its own empty database (.data/bench-bodies, or
BENCH_DATABASE_URL), with its own temporary directory (TMPDIR), and sends, with no token:

1. a JSON body of `--json-mb` MB to POST /v1/customers (with a Content-Length);
2. the same JSON chunked (no Content-Length);
3. a multipart body of `--multipart-mb` MB, chunked, to POST /v1/customers/batch.

For each: the status, the seconds until the answer, how many bytes the client had sent when it saw
the answer (the kernel's socket buffers take a few MB the server never reads; the rest is refused
when the server closes the connection), the API process's RSS (psutil)
before, at its peak while the request ran (sampled every 10 ms) and 2 s after, and the largest
size its temporary directory reached (a multipart part spooled to disk; in compose /tmp is RAM).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import psutil

from bench.api import ApiServer
from bench.common import bench_engine

NAME = "bench-bodies"
CHUNK = 64 * 1024


class Watch:
    """Samples the API process's RSS and its temporary directory's size while a request runs."""

    def __init__(self, pid: int, tmp: Path):
        self.proc, self.tmp = psutil.Process(pid), tmp
        self.peak_rss = self.peak_tmp = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_rss = max(self.peak_rss, self.proc.memory_info().rss)
            self.peak_tmp = max(self.peak_tmp, self._tmp_bytes())
            time.sleep(0.01)

    def _tmp_bytes(self) -> int:
        """Bytes of the process's open files in its temporary directory. Python's TemporaryFile
        has no name there (O_TMPFILE, or unlinked at once), so they are found by its descriptors."""
        size = 0
        for fd in Path(f"/proc/{self.proc.pid}/fd").iterdir():
            try:
                if os.readlink(fd).startswith(str(self.tmp)):
                    size += fd.stat().st_size
            except OSError:
                pass
        return size

    def __enter__(self) -> "Watch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _poll(sock: socket.socket) -> bytes:
    """What the server has answered so far, without waiting."""
    try:
        return sock.recv(65536)
    except BlockingIOError:
        return b""


def send(port: int, head: bytes, body_chunks) -> tuple[str, int, float]:
    """Send a request by hand; stop sending when the server answers or closes. Returns (status
    line, body bytes the client sent before it saw the answer, including what the kernel's socket
    buffers took, seconds until the answer)."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(120)
    started = time.perf_counter()
    sent = 0
    sock.sendall(head)
    answer = b""
    sock.setblocking(False)
    try:
        for chunk in body_chunks:
            view = memoryview(chunk)
            while view and not answer:
                answer += _poll(sock)
                try:
                    n = sock.send(view)
                    view, sent = view[n:], sent + n
                except BlockingIOError:
                    time.sleep(0.001)
            if answer:
                break
    except (BrokenPipeError, ConnectionResetError):
        pass
    sock.setblocking(True)
    try:
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    except (ConnectionResetError, socket.timeout):
        pass
    elapsed = time.perf_counter() - started
    sock.close()
    return (answer.split(b"\r\n", 1)[0].decode() or "(connection closed, no answer)"), sent, elapsed


def chunked(parts):
    """The parts in HTTP/1.1 chunked transfer encoding (no Content-Length)."""
    for part in parts:
        yield f"{len(part):x}\r\n".encode() + part + b"\r\n"
    yield b"0\r\n\r\n"


def json_body(mb: int):
    filler = b"x" * CHUNK
    yield b'{"nome": "'
    for _ in range(mb * 1_000_000 // CHUNK):
        yield filler
    yield b'"}'


def multipart(mb: int, boundary: str):
    line = b"1;Ana Souza;ana@example.com;21987654321\n" * (CHUNK // 42)
    yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n"
           "Content-Type: text/csv\r\n\r\n").encode()
    for _ in range(mb * 1_000_000 // len(line)):
        yield line
    yield f"\r\n--{boundary}--\r\n".encode()


def measure(server: ApiServer, tmp: Path, label: str, head: bytes, chunks) -> None:
    proc = psutil.Process(server.process.pid)
    before = proc.memory_info().rss
    with Watch(server.process.pid, tmp) as watch:
        status, sent, seconds = send(server.port, head, chunks)
        time.sleep(2)
    after = proc.memory_info().rss
    print(f"{label}\n  answer: {status}; {seconds:.2f} s; body sent when the answer came {sent / 1e6:.1f} MB\n"
          f"  RSS before {before / 2**20:.0f} MB, peak {watch.peak_rss / 2**20:.0f} MB, 2 s after "
          f"{after / 2**20:.0f} MB; temporary files at most {watch.peak_tmp / 1e6:.1f} MB", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bodies", description=__doc__.split("\n")[0])
    parser.add_argument("--json-mb", type=int, default=60, help="size of the JSON body (default 60)")
    parser.add_argument("--multipart-mb", type=int, default=80, help="size of the chunked multipart (default 80)")
    args = parser.parse_args(argv)

    engine = bench_engine(NAME)
    tmp = Path(tempfile.mkdtemp(prefix="bench-bodies-tmp-"))
    os.environ["TMPDIR"] = str(tmp)  # the API process's temporary files go there (ApiServer copies os.environ)
    try:
        server = ApiServer(engine.url.render_as_string(hide_password=False))
    finally:
        os.environ.pop("TMPDIR")
    try:
        print(f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} cpus; API on {server.base}\n",
              flush=True)
        size = args.json_mb * 1_000_000 // CHUNK * CHUNK + 12
        head = (f"POST /v1/customers HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {size}\r\n\r\n").encode()
        measure(server, tmp, f"{args.json_mb} MB JSON, no token, POST /v1/customers", head, json_body(args.json_mb))
        head = (b"POST /v1/customers HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")
        measure(server, tmp, f"{args.json_mb} MB JSON, chunked, no token, POST /v1/customers", head,
                chunked(json_body(args.json_mb)))
        boundary = "benchboundary0123456789"
        head = (f"POST /v1/customers/batch HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
        measure(server, tmp, f"{args.multipart_mb} MB multipart, chunked, no token, POST /v1/customers/batch", head,
                chunked(multipart(args.multipart_mb, boundary)))
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
