"""`streamlit` with every script run timed, for bench.dashboard: the server's whole run.

    python -m bench.streamlit_timed run dashboard/app.py [streamlit's options]

As `python -m streamlit`, plus one JSON line on stderr per script run (a full run or a fragment's):
{"op": "script.run", "duration_ms": ..., "ts": ...}, from the start of the run (before the
entrypoint's first line) to the end of Streamlit's clean-up after it (stale widgets, orphaned files
and, when runner.postScriptGC is on, the garbage collection), all of which delays the next run and
the last messages of this one. It wraps two methods of Streamlit's ScriptRunner (Streamlit 1.67);
where they are missing it says so once and runs untimed.
"""
from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone


def _instrument() -> None:
    from streamlit.runtime.scriptrunner import script_runner

    runner = script_runner.ScriptRunner
    if not all(hasattr(runner, name) for name in ("_install_event_loop", "_on_script_finished")):
        print("bench.streamlit_timed: this Streamlit has no ScriptRunner._install_event_loop/_on_script_finished;"
              " runs are not timed", file=sys.stderr, flush=True)
        return
    start_run, finish_run = runner._install_event_loop, runner._on_script_finished

    def started(self, *args, **kwargs):  # called once at the start of every run
        self._bench_started = time.perf_counter()
        return start_run(self, *args, **kwargs)

    def finished(self, *args, **kwargs):
        try:
            return finish_run(self, *args, **kwargs)
        finally:
            began = getattr(self, "_bench_started", None)
            if began is not None:
                line = {"ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "op": "script.run",
                        "duration_ms": round((time.perf_counter() - began) * 1000, 2), "outcome": "ok"}
                print(json.dumps(line), file=sys.stderr, flush=True)

    runner._install_event_loop, runner._on_script_finished = started, finished


if __name__ == "__main__":
    from streamlit.web import cli

    _instrument()
    sys.exit(cli.main(prog_name="streamlit"))
