# medpos: `make run` starts the terminal on the embedded default, `make test` runs every check.
# Both begin with `make setup`, which is idempotent: it installs only what is missing.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEB_PACKAGES := pcscd vsmartcard-vpcd libpcsclite-dev swig pcsc-tools libzbar0 chromium postgresql gcc python3-dev fonts-noto-cjk systemd
# pytest-xdist workers: three on two cores. Tests on the machine-wide pcscd/vpcd share one xdist
# group (tests/conftest.py), so one worker runs them in turn (about 155 s, mostly waiting on pcscd
# and Chromium) while two others keep both cores busy with the rest (the whole pytest run: 194 s
# on 2026-12-07; two workers took 310 s against three's 223 s when last compared). More pytest
# options from the command line:
# `make test PYTEST_ARGS=--durations=30`.
WORKERS ?= 3
PYTEST_ARGS ?=
PYTEST := $(VENV)/bin/pytest -n $(WORKERS) --dist loadgroup $(PYTEST_ARGS)
PIP_TOOLS := pip-tools==7.6.2

.PHONY: setup system-packages run test lint typecheck pytest unit fuzz bench lock clean deb

setup: system-packages $(STAMP)

system-packages:
	@bash scripts/install-system-packages.sh $(DEB_PACKAGES)

# The exact versions (and hashes) of requirements.lock, then medpos itself without resolving again.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

# requirements.lock from pyproject.toml: the runtime, dev and bench dependencies, pinned with hashes;
# packaging/requirements-runtime.lock: the runtime ones alone (what the Debian package installs).
lock:
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet $(PIP_TOOLS)
	CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile --quiet --strip-extras \
		--generate-hashes --allow-unsafe --no-emit-index-url --no-emit-find-links --extra dev --extra bench \
		--output-file requirements.lock pyproject.toml
	CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile --quiet --strip-extras \
		--generate-hashes --allow-unsafe --no-emit-index-url --no-emit-find-links \
		--output-file packaging/requirements-runtime.lock pyproject.toml

run: setup
	$(VENV)/bin/medpos run

lint: setup
	$(VENV)/bin/ruff format --check terminal drivers sync tests bench scripts
	$(VENV)/bin/ruff check terminal drivers sync tests bench scripts

typecheck: setup
	$(VENV)/bin/mypy terminal drivers sync bench tests

COVERAGE := --cov=terminal.settlement --cov-branch --cov-fail-under=100 \
	--cov-report=term-missing:skip-covered

# The whole suite on the `ci` Hypothesis profile (bounded, derandomized: tests/support/profiles.py).
pytest: setup
	HYPOTHESIS_PROFILE=ci $(PYTEST) $(COVERAGE)

# The fast ring alone: tests/unit (pure logic, decisions over scripted transports), in seconds.
unit: setup
	HYPOTHESIS_PROFILE=ci $(PYTEST) $(COVERAGE) tests/unit

# mypy runs beside pytest, not before it: on a fresh clone it has no cache (some 20 s of one core),
# and pytest leaves a core idle at times while its workers wait on pcscd, Chromium and hub processes.
# Its output follows pytest's; a failure of either (or of lint, before both) fails `make test`.
test: lint
	@mypy_log=$$(mktemp); \
	$(VENV)/bin/mypy terminal drivers sync bench tests >"$$mypy_log" 2>&1 & mypy_pid=$$!; \
	trap 'kill $$mypy_pid 2>/dev/null; rm -f "$$mypy_log"' EXIT; \
	echo "HYPOTHESIS_PROFILE=ci $(PYTEST) $(COVERAGE)  (mypy beside it)"; \
	HYPOTHESIS_PROFILE=ci $(PYTEST) $(COVERAGE); pytest_rc=$$?; \
	wait $$mypy_pid; mypy_rc=$$?; \
	echo "$(VENV)/bin/mypy terminal drivers sync bench tests"; cat "$$mypy_log"; \
	if [ $$mypy_rc -ne 0 ]; then echo "make test: mypy failed (exit $$mypy_rc)"; fi; \
	if [ $$pytest_rc -ne 0 ]; then echo "make test: pytest failed (exit $$pytest_rc)"; fi; \
	[ $$pytest_rc -eq 0 ] && [ $$mypy_rc -eq 0 ]

# Every Hypothesis property on the `deep` profile: random, with the full example counts.
fuzz: setup
	HYPOTHESIS_PROFILE=deep $(PYTEST) -m hypothesis --hypothesis-show-statistics

bench: setup
	$(PY) -m bench

# dist/medpos_<version>_all.deb (packaging/build-deb.sh; docs/operations.md "Installing")
deb: setup
	bash packaging/build-deb.sh dist

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis tests/artifacts dist
