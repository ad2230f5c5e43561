# The two entry points of the README: `make demo` and `make test`.
# Everything they need is installed on first use: system packages (scripts/system-deps),
# a virtualenv with the package and its test tools, the control-plane binaries and a
# Gitea for the forge tests (built with Go into ~/.cache/orchestrator, outside the repository).
# Every Python package comes from the lock, requirements/constraints.txt (`make lock`
# re-resolves it; docs/development.md says when and how).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_DIR ?= .demo
LOCK := $(CURDIR)/requirements/constraints.txt
UV_VERSION := 0.13.9

.PHONY: demo test lint unit integration system-deps binaries clean lock

# PIP_CONSTRAINT (rather than -c) also pins what pip puts into its isolated build
# environment, so the build backend is locked too.
$(VENV)/.installed: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	PIP_CONSTRAINT=$(LOCK) $(PY) -m pip install --quiet --upgrade pip setuptools wheel
	PIP_CONSTRAINT=$(LOCK) $(PY) -m pip install --quiet -e '.[test]'
	touch $@

# Re-resolve the lock from pyproject.toml and requirements/tools.in: after changing a
# dependency, or to take upgrades (`make lock UPGRADE=--upgrade`). The resolution is
# universal (every platform), for Python 3.11, the oldest Python the package supports.
lock:
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet uv==$(UV_VERSION)
	.lock-venv/bin/uv pip compile pyproject.toml requirements/tools.in --extra test \
	  --universal --python-version 3.11 $(UPGRADE) --output-file $(LOCK) \
	  --custom-compile-command "make lock" --quiet
	rm -rf .lock-venv

system-deps:
	bash scripts/system-deps

binaries: $(VENV)/.installed
	$(PY) -m e2e.controlplane build
	$(PY) -m e2e.forge build

demo: system-deps $(VENV)/.installed binaries
	$(VENV)/bin/orchestrator demo --workdir $(DEMO_DIR) $(DEMO_ARGS)

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
