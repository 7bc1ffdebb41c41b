# medpos: `make run` starts the terminal on the embedded default, `make test` runs every check.
# Both begin with `make setup`, which is idempotent: it installs only what is missing.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEB_PACKAGES := pcscd vsmartcard-vpcd libpcsclite-dev swig pcsc-tools libzbar0 chromium postgresql gcc python3-dev fonts-noto-cjk

.PHONY: setup system-packages run test lint typecheck pytest bench clean

setup: system-packages $(STAMP)

system-packages:
	@bash scripts/install-system-packages.sh $(DEB_PACKAGES)

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: setup
	$(VENV)/bin/medpos run

lint: setup
	$(VENV)/bin/ruff format --check terminal drivers sync tests bench scripts
	$(VENV)/bin/ruff check terminal drivers sync tests bench scripts

typecheck: setup
	$(VENV)/bin/mypy terminal drivers sync bench tests

pytest: setup
	$(VENV)/bin/pytest --cov=terminal.settlement --cov-branch --cov-fail-under=100 \
		--cov-report=term-missing:skip-covered

test: lint typecheck pytest

bench: setup
	$(PY) -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache tests/artifacts
