# Pasar: `make demo` runs the shop locally, `make test` runs every test.
# Both install what they need into .venv; without DATABASE_URL they start an embedded
# PostgreSQL under var/pg (kept between runs).

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV_VERSION := 0.13.9
PORT ?= 8000

.PHONY: install demo test lint format bench migrate stop-db clean

install: $(STAMP)

$(STAMP): pyproject.toml uv.lock scripts/find_python.sh
	@python=$$(scripts/find_python.sh) || exit 1; \
	if [ ! -x $(BIN)/python ]; then echo "Creating $(VENV) with $$python"; "$$python" -m venv $(VENV); fi
	@$(BIN)/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	@UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --quiet --frozen --inexact --python $(BIN)/python
	@touch $@

demo: install
	@scripts/system_deps.sh demo
	@scripts/demo.sh

test: install
	@scripts/system_deps.sh test
	@scripts/run_tests.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DATABASE_URL=$${DATABASE_URL:-postgres://unused/unused} $(BIN)/mypy pasar bench
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	@scripts/system_deps.sh bench
	@scripts/bench.sh

migrate: install
	@DATABASE_URL=$$($(BIN)/python scripts/dev_database.py) $(BIN)/python manage.py migrate

stop-db:
	@if [ -f var/pg/postmaster.pid ]; then \
	  kill -INT $$(head -1 var/pg/postmaster.pid) && echo "Embedded PostgreSQL stopped."; \
	fi

clean: stop-db
	rm -rf $(VENV) var
