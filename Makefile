# alstrial — every target creates .venv itself, so a fresh clone needs only Python 3.11 and make.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: demo test bench lint mutation clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/alstrial demo --out demo-output

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# Mutation testing (not part of `make test`; long: MUTATION.md has the last measured result).
# GROUPS="endpoints domain" limits the run; results resume from build/mutation/.
mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,mutation]'
	nice -n 19 $(BIN)/python tools/mutation.py $(GROUPS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks validation tools
	$(BIN)/ruff format --check src tests benchmarks validation tools
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build/mutation demo-output .pytest_cache .mypy_cache .ruff_cache
