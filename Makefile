# Two commands for a newcomer: `make run` (set up + start the dashboard), `make test` (set up + tests).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501

.PHONY: run test test-fast browser bench lint clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## run: set up the virtualenv, migrate the database, start the dashboard on http://localhost:$(PORT)
run: $(VENV)/.installed
	$(PY) -m core db upgrade
	$(PY) -m streamlit run dashboard/app.py --server.port $(PORT)

## test: set up the virtualenv and a browser for end-to-end tests, run every test
test: $(VENV)/.installed browser
	$(PY) -m pytest

## test-fast: every test but the browser ones
test-fast: $(VENV)/.installed
	$(PY) -m pytest -m "not e2e"

## browser: install Debian's chromium for the end-to-end tests when missing (needs root or sudo)
browser:
	@scripts/ensure-chromium

clean:
	rm -rf $(VENV) .pytest_cache
