# The two entry points of the README: `make demo` and `make test`.
# Everything they need is installed on first use: system packages (scripts/system-deps),
# a virtualenv with the package and its test tools, and the control-plane binaries
# (built with Go into ~/.cache/orchestrator, outside the repository).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_DIR ?= .demo

.PHONY: demo test lint unit integration system-deps binaries clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

system-deps:
	bash scripts/system-deps

binaries: $(VENV)/.installed
	$(PY) -m e2e.controlplane build

demo: system-deps $(VENV)/.installed binaries
	$(VENV)/bin/orchestrator demo --workdir $(DEMO_DIR)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy --strict orchestrator e2e
	$(VENV)/bin/lint-imports

test: system-deps $(VENV)/.installed lint binaries
	$(PY) -m pytest

unit: $(VENV)/.installed
	$(PY) -m pytest tests/unit

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
