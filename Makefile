# Two commands for a newcomer: `make run` (set up + start the dashboard and the HTTP API), `make test`
# (set up + tests).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
ADDRESS ?= localhost

# Compiled message catalogs (build output, not in git), compiled by the set-up of run and test.
MO     := locale/pt_BR/LC_MESSAGES/messages.mo locale/en/LC_MESSAGES/messages.mo

.PHONY: run test test-fast browser bench catalogs clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

locale/%/LC_MESSAGES/messages.mo: locale/%/LC_MESSAGES/messages.po $(VENV)/.runtime
	$(VENV)/bin/pybabel compile --statistics -l $* -i $< -o $@

## run: set up the virtualenv, migrate the database, serve the dashboard on http://localhost:$(PORT)
##      and the HTTP API on http://localhost:8502 (API_PORT), and run the alerts worker; Ctrl-C stops all
run: $(VENV)/.runtime $(MO)
	$(PY) -m core db upgrade
	$(PY) -m api --host $(ADDRESS) & api=$$!; $(PY) -m core alerts run & alerts=$$!; \
	trap 'kill $$api $$alerts 2>/dev/null' EXIT INT TERM; \
	$(PY) -m streamlit run dashboard/app.py --server.port $(PORT) --server.address $(ADDRESS)

## test: set up the virtualenv and a browser for end-to-end tests, run every test
test: $(VENV)/.dev browser $(MO)
	$(PY) -m pytest

## test-fast: every test but the browser ones
test-fast: $(VENV)/.dev $(MO)
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

## catalogs: extract the texts to translate (_, ngettext, N_) into locale/messages.pot and merge them
##           into both .po files; then translate the new pt_BR entries (tests/test_i18n.py checks)
catalogs: $(VENV)/.runtime
	$(VENV)/bin/pybabel extract -F babel.cfg -o locale/messages.pot --no-location --sort-output --no-wrap \
		--omit-header .
	$(VENV)/bin/pybabel update -i locale/messages.pot -d locale --no-wrap --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) .pytest_cache $(MO)
