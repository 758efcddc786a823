# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TOOLS := .tools
APIGEELINT := $(TOOLS)/node_modules/.bin/apigeelint
APIGEELINT_VERSION := 2.85.1
PORT ?= 8501

.PHONY: install run test test-fast lint bench sample screenshots clean

install: $(STAMP) $(APIGEELINT)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

$(APIGEELINT):
	mkdir -p $(TOOLS)
	npm install --silent --no-audit --no-fund --prefix $(TOOLS) apigeelint@$(APIGEELINT_VERSION)

# The whole local estate: Temporal dev server, workers, gateway emulator, dashboard (atc up).
run: install
	$(VENV)/bin/atc up --port $(PORT)

test: install
	$(PY) -m tests.run

# The edit-test loop: everything not marked slow (no servers, workers or browsers).
test-fast: install
	$(PY) -m tests.run -m "not slow"

lint: install
	$(VENV)/bin/ruff check copilot workflows app.py app_pages tests bench scripts

bench: install
	$(PY) -m pip install -q -c constraints.txt -e '.[dev,bench]'
	$(PY) bench/bench_analyze.py --rows 1000000 5000000
	$(PY) bench/bench_suggest.py --rows 1000000 5000000
	$(PY) bench/bench_reports.py --rows 1000000
	$(PY) bench/bench_ingest.py --rows 1000000
	$(PY) bench/bench_bridge.py --starts 2000 --concurrency 32
	$(PY) -m bench.eval_advice
	$(PY) bench/bench_fanout.py --rows 5000000
	test -f bench/out/dashboard-1m.csv || $(VENV)/bin/atc sample --days 30 --rows 1000000 --out bench/out/dashboard-1m.csv
	$(PY) bench/bench_dashboard.py bench/out/dashboard-1m.csv

# Regenerate docs/screenshots/*.png from a real Chromium walk of every dashboard page.
screenshots: install
	$(PY) scripts/screenshots.py

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache
