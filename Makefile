# The README's commands. Everything runs from the project's own virtual environment (.venv),
# created and filled on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test dev lint typecheck install clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "==> installing the project and its dependencies into $(VENV) (first run takes a few minutes)"
	@$(BIN)/pip install -qq --disable-pip-version-check --upgrade pip
	@$(BIN)/pip install -qq --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## Start the local stack, push the sample tickets through it, print a summary, stop.
demo: $(STAMP)
	$(BIN)/supportctl demo

## Run the whole test suite (lint and types first: they are part of the suite).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/pytest -q

## Start the local stack in the foreground until Ctrl-C.
dev: $(STAMP)
	$(BIN)/supportctl dev

clean:
	rm -rf $(VENV) data build *.egg-info
