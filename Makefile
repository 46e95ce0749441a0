# Two commands for a newcomer: `make run` (set up + start the dashboard and the HTTP API), `make test`
# (set up + tests).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
ADDRESS ?= localhost

.PHONY: run test test-fast browser bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## run: set up the virtualenv, migrate the database, serve the dashboard on http://localhost:$(PORT)
##      and the HTTP API on http://localhost:8502 (API_PORT); Ctrl-C stops both
run: $(VENV)/.runtime
	$(PY) -m core db upgrade
	$(PY) -m api --host $(ADDRESS) & api=$$!; trap 'kill $$api 2>/dev/null' EXIT INT TERM; \
	$(PY) -m streamlit run dashboard/app.py --server.port $(PORT) --server.address $(ADDRESS)

## test: set up the virtualenv and a browser for end-to-end tests, run every test
test: $(VENV)/.dev browser
	$(PY) -m pytest

## test-fast: every test but the browser ones
test-fast: $(VENV)/.dev
	$(PY) -m pytest -m "not e2e"

## bench: the benchmark commands whose figures the README reports (own databases in .data/bench-*)
bench: $(VENV)/.dev
	$(PY) -m bench.load
	$(PY) -m bench.indicators
	$(PY) -m bench.paging
	$(PY) -m bench.operations
	$(PY) -m bench.api

## browser: install Debian's chromium for the end-to-end tests when missing (needs root or sudo)
browser:
	@scripts/ensure-chromium

clean:
	rm -rf $(VENV) .pytest_cache
