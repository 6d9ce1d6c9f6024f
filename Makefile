# Every target bootstraps its own virtualenv with pinned dependencies: a fresh machine needs only Python 3.11+.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SAM_VENV  := .sam-venv
SAM_STAMP := $(SAM_VENV)/.installed

.PHONY: demo test build docs lint bench soak dev lock sam-lock clean pr

$(STAMP): requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Foreman needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing the pinned dependencies into $(VENV) (requirements-dev.lock; about a minute the first time)..."
	@# The lock pins every package, so pip need not resolve anything (--no-deps); pip check proves it is complete.
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-dev.lock
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@$(BIN)/python -m pip check --disable-pip-version-check >/dev/null
	@touch $(STAMP)

# aws-sam-cli lives in its own virtualenv, pinned in requirements-sam.lock, so it never touches the project's lock.
$(SAM_STAMP): requirements-sam.lock
	@test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	@echo "Installing aws-sam-cli into $(SAM_VENV) (requirements-sam.lock; about a minute the first time)..."
	@$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-sam.lock
	@$(SAM_VENV)/bin/python -m pip check --disable-pip-version-check >/dev/null
	@touch $(SAM_STAMP)

dev: $(STAMP)  ## create .venv with every pinned dependency

demo: $(STAMP)  ## run the Orchestrator on the embedded local stack
	$(BIN)/foreman local demo

test: $(STAMP) build docs  ## the whole suite: the build proven (make build), the docs site built --strict, then every test
	$(BIN)/python -m pytest -q

build: $(STAMP) $(SAM_STAMP)  ## sam build, then prove it: sizes, the layer, every handler imports, cfn-lint
	$(BIN)/python -m foreman.build

docs: $(STAMP)  ## the documentation site (docs/, mkdocs.yml), built --strict into build/site
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/site

lint: $(STAMP)  ## ruff, mypy, cfn-lint on the template and the state machines
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m foreman.lint

bench: $(STAMP)  ## side-by-side figures, printed as tables
	$(BIN)/python -m benchmarks

soak: $(STAMP)  ## the property-based tests with many more examples (HYPOTHESIS_PROFILE=soak; about 10 minutes)
	HYPOTHESIS_PROFILE=soak $(BIN)/python -m pytest -q tests/statemachine/test_stateful.py \
		tests/functional/test_malformed_items.py

pr: lint test  ## everything a reviewer runs

lock:  ## re-resolve requirements-dev.in into requirements-dev.lock
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet -r requirements-dev.in
	.lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^-e' > requirements-dev.lock
	rm -rf .lock-venv

sam-lock:  ## re-resolve aws-sam-cli into requirements-sam.lock (edit the pin in this target)
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet aws-sam-cli==1.170.0
	head -2 requirements-sam.lock > .lock-venv/header
	.lock-venv/bin/python -m pip freeze --all | grep -v -e '^pip==' -e '^setuptools==' > .lock-venv/body
	cat .lock-venv/header .lock-venv/body > requirements-sam.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache build *.egg-info
