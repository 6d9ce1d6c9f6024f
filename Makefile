# Every target bootstraps its own virtualenv with pinned dependencies: a fresh machine needs only Python 3.11+.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench dev lock clean pr

$(STAMP): requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Foreman needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing the pinned dependencies into $(VENV) (requirements-dev.lock; about a minute the first time)..."
	@# The lock pins every package, so pip need not resolve anything (--no-deps); pip check proves it is complete.
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-dev.lock
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@$(BIN)/python -m pip check --disable-pip-version-check >/dev/null
	@touch $(STAMP)

dev: $(STAMP)  ## create .venv with every pinned dependency

demo: $(STAMP)  ## run the Orchestrator on the embedded local stack
	$(BIN)/foreman local demo

test: $(STAMP)  ## the whole suite: unit, functional and state machine tests
	$(BIN)/python -m pytest -q

lint: $(STAMP)  ## ruff, mypy, cfn-lint on the template and the state machines
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m foreman.lint

bench: $(STAMP)  ## side-by-side figures, printed as tables
	$(BIN)/python -m benchmarks

pr: lint test  ## everything a reviewer runs

lock:  ## re-resolve requirements-dev.in into requirements-dev.lock
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet -r requirements-dev.in
	.lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^-e' > requirements-dev.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
