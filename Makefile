# Koppi: `make run` serves the demo, `make test` runs the whole suite. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench messages system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	KOPPI_DEMO=$${KOPPI_DEMO:-1} $(PY) -m service serve

test: $(STAMP) system-deps
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check service moderation tests bench
	$(PY) -m ruff format --check service moderation tests bench
	$(PY) -m mypy

format: $(STAMP)
	$(PY) -m ruff format service moderation tests bench
	$(PY) -m ruff check --fix service moderation tests bench

bench: $(STAMP) system-deps
	$(PY) bench/board.py
	$(PY) bench/chat.py
	$(PY) bench/directory.py
	$(PY) bench/stats.py
	$(PY) bench/screening.py

# Headless Chromium for the browser tests, wrk for the benchmarks, PostgreSQL's server for the
# suite's second engine, redis-server for the several-process tests, nginx and openssl for the
# deployment tests (tests/test_deploy.py), from Debian.
system-deps:
	@sh .ci/system-deps.sh

# Re-extract translatable strings and merge them into the catalogs (then translate fi).
messages: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _ -k gettext -k ngettext:1,2 -k N_ \
		--no-location --sort-output -o web/translations/messages.pot .
	$(VENV)/bin/pybabel update -i web/translations/messages.pot -d web/translations --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) test-output .pytest_cache .mypy_cache .ruff_cache
