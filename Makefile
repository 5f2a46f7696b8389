# Two commands do all the set-up on a fresh machine:
#   make demo   creates .venv, installs the package and runs `autoencoders demo`
#   make test   creates .venv, installs the test extras and runs the whole test suite
#               (but the browser test: make test-browser, which needs Chromium)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The CPU build of PyTorch, pinned so an install never pulls gigabytes of CUDA packages.
TORCH := torch==2.13.0

.PHONY: demo test test-browser lint install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/pip install --quiet "$(TORCH)" -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet "$(TORCH)" -e ".[test]"

demo: install
	$(BIN)/autoencoders demo

test: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/pytest -q -m "not browser"

# The explorer in headless Chromium (Debian's chromium package; .ci/run installs it).
test-browser: install-test
	$(BIN)/pytest -q -m browser

lint: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache
