# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit install bench clean messages crash-test

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/refundable demo

lint: $(STAMP)
	$(BIN)/ruff check src tests tools $(wildcard bench)

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q
	$(BIN)/python tools/postgres_tests.py

test: lint typecheck unit

# Regenerate the French catalogue from the sources and compile it (needs GNU gettext). The
# compiled .mo is committed too, so a machine without gettext still runs in French.
messages: $(STAMP)
	cd src/refundable && DJANGO_SETTINGS_MODULE=refundable.settings ../../$(BIN)/django-admin \
		makemessages --locale fr --no-obsolete --add-location file --ignore 'tests/*'
	cd src/refundable && DJANGO_SETTINGS_MODULE=refundable.settings ../../$(BIN)/django-admin \
		compilemessages --locale fr

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

# The crash test's long run (docs/reliability.md): RUNS=10000 DB=sqlite|postgres
crash-test: $(STAMP)
	$(BIN)/python tools/crash_test.py --runs $(or $(RUNS),10000) --batch 500 --database $(or $(DB),sqlite)
