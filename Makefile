# Two commands do all the set-up on a fresh machine:
#   make demo   creates .venv, installs the package and runs `autoencoders demo`
#   make test   creates .venv, installs the test extras and runs the whole test suite
#               (but the browser tests: make test-browser, which needs Chromium)
#   make docs   builds the documentation site into docs/_build/html
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The CPU build of PyTorch, pinned so an install never pulls gigabytes of CUDA packages.
TORCH := torch==2.13.0

.PHONY: demo test test-browser docs lint install install-test install-docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/pip install --quiet "$(TORCH)" -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet "$(TORCH)" -e ".[test]"

demo: install
	$(BIN)/autoencoders demo

test: install-test
	$(BIN)/ruff check src tests benchmarks examples docs
	$(BIN)/pytest -q -m "not browser"

install-docs: $(BIN)/python
	$(BIN)/pip install --quiet "$(TORCH)" -e ".[docs]"

# The documentation site, offline, warnings as errors: docs/_build/html/index.html.
docs: install-docs
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

# The explorer and the documentation site in headless Chromium (Debian's chromium
# package; .ci/run installs it). Builds the site first.
test-browser: install-test docs
	$(BIN)/pytest -q -m browser

lint: install-test
	$(BIN)/ruff check src tests benchmarks examples docs
	$(BIN)/ruff format --check src tests benchmarks examples docs

clean:
	rm -rf $(VENV) runs .pytest_cache docs/_build docs/auto_examples docs/benchmarks docs/zoo.md
