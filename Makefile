# The project's commands. Each target sets up what it needs, so a fresh clone
# only needs Python 3.13 (on PATH as python3.13, or through pyenv).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
# sam build looks for "python3.13" on PATH; the virtual environment provides it.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
PYTHON313 := $(shell python3.13 -c 'import sys; print(sys.executable)' 2>/dev/null || PYENV_VERSION=3.13.0 pyenv which python 2>/dev/null)

.PHONY: help venv test test-fast test-lifecycle lint typecheck demo build validate checkov cdk-synth release clean

help:
	@echo "make demo   - play a stack's lifecycle against the local Spacelift emulator"
	@echo "make test   - lint, type-check, validate/build the template and run every test"
	@echo "make test-fast - the unit and quicker functional tests only, no lint (under 30 s)"
	@echo "make test-lifecycle - the stack lifecycle state machine alone, with many more examples"
	@echo "make build  - sam build (python3.13, arm64, no Docker)"
	@echo "make validate - cfn-lint and sam validate --lint on template.yaml"
	@echo "make checkov  - checkov on template.yaml (in its own virtualenv)"
	@echo "make cdk-synth - synthesise examples/cdk and cfn-lint its templates"
	@echo "make release - build the SAM artefacts and the CDK wheel into dist/ (no upload)"
	@echo "make bench  - sam build, then measure round trips, cold start, warm overhead, memory, scale (docs/performance.md)"

$(VENV)/.installed: requirements-dev.txt layers/deps/requirements.txt cdk/requirements.txt
	@test -n "$(PYTHON313)" || { echo "Python 3.13 is required (python3.13 on PATH, or pyenv with 3.13.0)"; exit 1; }
	test -x $(PY) || $(PYTHON313) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: venv
	$(PY) -m mypy

test: lint typecheck
	$(PY) -m pytest

# The inner loop: the unit tests and the quicker functional ones, no lint, no type-check, no
# packaging (each test file's tier is in tests/conftest.py's TIERS). Left out as `slow`, with the
# packaging tier: test_faults.py, test_lifecycle.py, test_rollback_cases.py and
# test_stack_state_machine.py, which wait out real deadlines or play whole stacks. Under 30 s.
test-fast: venv
	$(PY) -m pytest -q -m "(unit or functional) and not slow"

# The hypothesis state machine over the CloudFormation lifecycle model, alone and much longer than
# in `make test` (LIFECYCLE_EXAMPLES=N make test-lifecycle to choose the number of examples).
LIFECYCLE_EXAMPLES ?= 200
test-lifecycle: venv
	LIFECYCLE_EXAMPLES=$(LIFECYCLE_EXAMPLES) $(PY) -m pytest tests/test_stack_state_machine.py -q

demo: venv
	PYTHONPATH=src:harness $(PY) -m demo

build: venv
	$(VENV)/bin/sam build

# sam build into a directory of its own (a concurrent `make build` cannot change
# what is being measured), then measure it and write docs/performance.md.
.PHONY: bench
bench: venv
	PYTHONPATH=harness $(PY) -m bench --build --build-dir .aws-sam/bench/build

validate: venv
	$(VENV)/bin/cfn-lint template.yaml
	$(VENV)/bin/sam validate --lint

# checkov pins boto3 and more, which would downgrade the main environment's:
# it gets a virtualenv of its own.
CHECKOV_VENV := .venv-checkov

# Made from the main virtualenv's interpreter (so the same Python 3.13).
$(CHECKOV_VENV)/.installed: requirements-checkov.txt $(VENV)/.installed
	test -x $(CHECKOV_VENV)/bin/python || $(PY) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

checkov: $(CHECKOV_VENV)/.installed
	BC_SKIP_MAPPING=TRUE $(CHECKOV_VENV)/bin/checkov -f template.yaml --framework cloudformation --quiet --compact

cdk-synth: venv
	cd examples/cdk && CDK_OUTDIR=cdk.out PYTHONPATH=$(CURDIR)/cdk/src $(CURDIR)/$(PY) app.py
	$(VENV)/bin/cfn-lint --ignore-checks W3005 -- examples/cdk/cdk.out/*.template.json

release: venv
	bash scripts/release.sh

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache examples/cdk/cdk.out dist
