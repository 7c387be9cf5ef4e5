# Two commands for a newcomer: `make run` and `make test`. Each bootstraps .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench-checkout clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/chaekieum serve

test: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/lint-imports
	$(BIN)/pytest -n 2 --dist loadfile $(PYTEST_ARGS)

bench-checkout: $(STAMP)
	$(BIN)/chaekieum bench checkout

clean:
	rm -rf $(VENV) var .pytest_cache
