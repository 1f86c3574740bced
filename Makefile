# Two commands do everything on a fresh machine (see README):
#   make run   - install, migrate, seed the demo network, serve on http://127.0.0.1:5000
#   make test  - install test tools, run the whole suite
VENV   := .venv
PY     := $(VENV)/bin/python
FLASK  := $(VENV)/bin/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 5000


.PHONY: bench bench-pdf bench-import run test install install-dev translations translations-update system-deps clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.dev-installed

# Compiled catalogues are build output (.gitignore); the .po files are the source.
translations: $(VENV)/.installed
	$(VENV)/bin/pybabel -q compile -d app/translations

# After adding strings: extract, merge into every catalogue, then translate the new entries.
translations-update: $(VENV)/.installed
	$(VENV)/bin/pybabel -q extract -F babel.cfg -k _l -k _m -k lazy_gettext -k lazy_pgettext:1c,2 -o app/translations/messages.pot .
	$(VENV)/bin/pybabel -q update -i app/translations/messages.pot -d app/translations --width 100

system-deps:
	bash scripts/system-deps.sh

run: install translations
	bash scripts/system-deps.sh run
	$(FLASK) db upgrade
	$(FLASK) seed demo --if-empty
	$(FLASK) customers nightly
	@echo
	@echo "  Portal: http://$(HOST):$(PORT)/login"
	@echo "  Demo accounts (password demo-pass-2026): hq-admin, hq-auditor, hq-supervisor, hq-dept,"
	@echo "  hq-viewer, shopper-1, owner-a, owner-b, owner-c, manager-a1, staff-a1 - see README."
	@echo
	PORTAL_SCHEDULER_SECONDS=60 $(FLASK) run --host $(HOST) --port $(PORT)

test: install-dev translations system-deps
	$(PY) -m pytest

clean:
	rm -rf $(VENV) instance/portal.db

# The portal under gunicorn (gunicorn.conf.py) on loopback against a large dataset, one table
# printed and written to bench-results/; a 100,000-row import runs meanwhile. Builds the
# dataset first if needed (seed large). BENCH_DATABASE_URL=postgresql://... for PostgreSQL;
# BENCH_STORES, BENCH_CUSTOMERS, BENCH_RUNS ... are described in scripts/bench.py.
bench: install translations
	bash scripts/system-deps.sh bench
	$(PY) scripts/bench.py
	$(PY) scripts/bench_pdf.py

# PDF reports on the same dataset: a fresh worker's first report, warm reports against a bare
# WeasyPrint render, file sizes, and every open store's report as one batch (scripts/bench_pdf.py).
bench-pdf: install translations
	bash scripts/system-deps.sh bench
	$(PY) scripts/bench_pdf.py

# Seconds and peak memory of a 100,000-row customer import (ROWS=... to change).
bench-import: install translations
	$(PY) scripts/bench_import.py
