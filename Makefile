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

.PHONY: help venv test test-fast test-lifecycle lint typecheck demo build validate checkov cdk cdk-test cdk-synth release clean

help:
	@echo "make demo   - play a stack's lifecycle against the local Spacelift emulator"
	@echo "make test   - lint, type-check, validate/build the template and run every test"
	@echo "make test-fast - the unit and quicker functional tests only, no lint (under 30 s)"
	@echo "make test-lifecycle - the stack lifecycle state machine alone, with many more examples"
	@echo "make build  - sam build (python3.13, arm64, no Docker)"
	@echo "make validate - cfn-lint and sam validate --lint on template.yaml"
	@echo "make checkov  - checkov on template.yaml (in its own virtualenv)"
	@echo "make cdk    - build the CDK construct library (jsii) into dist/cdk/: npm package and Python wheel"
	@echo "make cdk-test - the construct library's TypeScript unit tests (jest)"
	@echo "make cdk-synth - synthesise examples/cdk with the built wheel and cfn-lint its templates"
	@echo "make release - build the SAM artefacts and the CDK wheel into dist/ and print the publish command (no upload)"
	@echo "make bench  - sam build, then measure round trips, cold start, warm overhead, memory, scale (docs/performance.md)"

$(VENV)/.installed: requirements-dev.txt layers/deps/requirements.txt examples/cdk/requirements.txt
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

test: lint typecheck cdk-test cdk
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

# ------------------------------------------------------------------ CDK construct library
# cdk/ is a jsii library written in TypeScript: jsii compiles it, jsii-pacmak packages it for
# npm and Python (and Java, .NET, Go where their toolchains are installed: CDK_TARGETS).
# Node.js 20 or later must be on PATH; the npm packages are pinned in cdk/package-lock.json.
# Each step is a file target, so `make test` builds nothing twice and nothing unchanged.
NODE_MODULES := cdk/node_modules/.installed
# Where jsii compiles and pacmak writes; scripts/release.sh gives directories of its own.
CDK_BUILD ?= cdk/build
CDK_DIST ?= dist/cdk
# The built function and layer, shared by every build directory.
CDK_ASSETS := cdk/build/assets
CDK_TARGETS ?= js python
# jsii and jsii-pacmak print a banner on Node 20 (supported by them, past its end of life).
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# The repository's URL is written into the packages (jsii requires one; the Go module path is
# derived from it). Never made up: CDK_REPOSITORY_URL, else this clone's origin, else this
# checkout as a file:// URL, which is enough to build and test but not to publish (cdk/README.md).
CDK_REPOSITORY_URL ?= $(shell git config --get remote.origin.url 2>/dev/null)
CDK_REPOSITORY := $(or $(CDK_REPOSITORY_URL),file://$(CURDIR))
CDK_SOURCES := $(shell find cdk/lib cdk/test -name '*.ts' 2>/dev/null) cdk/package.json cdk/README.md \
	cdk/scripts/stage.js LICENSE
FUNCTION_SOURCES := $(shell find src -type f ! -path '*/__pycache__/*' ! -name '*.py[co]' 2>/dev/null)
LAYER_SOURCES := $(shell find layers/deps -type f ! -path '*/__pycache__/*' 2>/dev/null)

$(NODE_MODULES): cdk/package.json cdk/package-lock.json
	@node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 20 ? 1 : 0)' 2>/dev/null \
		|| { echo "Node.js 20 or later is required on PATH (node --version)"; exit 1; }
	cd cdk && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Rewritten only when the URL changes, so that a new URL rebuilds the packages.
$(CDK_BUILD)/repository-url: FORCE
	@mkdir -p $(@D)
	@echo '$(CDK_REPOSITORY)' | cmp -s - $@ || echo '$(CDK_REPOSITORY)' > $@

# The function and the layer, built by the Makefiles `sam build` runs, into the package's assets/
# (the constructs find them relative to their own file, wherever the package is installed).
$(CDK_ASSETS)/function.built: $(FUNCTION_SOURCES) | venv
	rm -rf $(@D)/function && mkdir -p $(@D)/function
	$(MAKE) --no-print-directory -C src build-ProviderFunction ARTIFACTS_DIR=$(abspath $(@D))/function
	touch $@

$(CDK_ASSETS)/layer.built: $(LAYER_SOURCES) | venv
	rm -rf $(@D)/layer && mkdir -p $(@D)/layer
	$(MAKE) --no-print-directory -C layers/deps build-DependenciesLayer ARTIFACTS_DIR=$(abspath $(@D))/layer
	touch $@

CDK_BUILT_ASSETS := $(CDK_ASSETS)/function.built $(CDK_ASSETS)/layer.built

# jsii compiles the build copy (cdk/scripts/stage.js), then jsii-docgen writes cdk/API.md.
$(CDK_BUILD)/.jsii: $(CDK_SOURCES) $(CDK_BUILD)/repository-url $(NODE_MODULES)
	node cdk/scripts/stage.js $(CDK_BUILD) '$(CDK_REPOSITORY)'
	cd $(CDK_BUILD) && ./node_modules/.bin/jsii --fail-on-warnings
	@# A failed docgen must not leave a .jsii newer than the sources: the next make retries.
	cd $(CDK_BUILD) && ./node_modules/.bin/jsii-docgen --output API.md || { rm -f .jsii; exit 1; }
	cmp -s $(CDK_BUILD)/API.md cdk/API.md || cp $(CDK_BUILD)/API.md cdk/API.md

$(CDK_DIST)/.packed: $(CDK_BUILD)/.jsii $(CDK_BUILT_ASSETS)
	$(if $(filter $(abspath $(CDK_ASSETS)),$(abspath $(CDK_BUILD))/assets),,\
		rm -rf $(CDK_BUILD)/assets && mkdir -p $(CDK_BUILD)/assets && \
		cp -R $(CDK_ASSETS)/function $(CDK_ASSETS)/layer $(CDK_BUILD)/assets/)
	rm -rf $(CDK_DIST)
	cd $(CDK_BUILD) && ./node_modules/.bin/jsii-pacmak --targets $(CDK_TARGETS) --outdir $(abspath $(CDK_DIST))
	touch $@

cdk: $(CDK_DIST)/.packed

cdk-test: cdk/build/.jsii $(CDK_BUILT_ASSETS)
	@# In band: on two cores, worker processes cost more than they save (11 s against 18 s).
	cd cdk/build && ./node_modules/.bin/jest --ci --runInBand

# The example app, run by a virtualenv of its own with the built wheel (as a user would install
# it), then cfn-lint on its templates.
CDK_VENV := .venv-cdk
$(CDK_VENV)/.installed: $(CDK_DIST)/.packed examples/cdk/requirements.txt $(VENV)/.installed
	test -x $(CDK_VENV)/bin/python || $(PY) -m venv $(CDK_VENV)
	@# --no-compile: byte-compiling all of aws-cdk-lib takes ten times longer than installing it.
	$(CDK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-compile \
		-r examples/cdk/requirements.txt $(CDK_DIST)/python/*.whl
	@# A rebuilt wheel keeps its version: replace the installed one.
	$(CDK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps \
		$(CDK_DIST)/python/*.whl
	touch $@

cdk-synth: $(CDK_VENV)/.installed
	rm -rf examples/cdk/cdk.out
	cd examples/cdk && CDK_OUTDIR=cdk.out $(CURDIR)/$(CDK_VENV)/bin/python app.py
	$(VENV)/bin/cfn-lint --ignore-checks W3005 -- examples/cdk/cdk.out/*.template.json

.PHONY: FORCE
FORCE:

# Values that exist only at release time are arguments, never invented in template.yaml:
#   make release SOURCE_CODE_URL=https://... [HOME_PAGE_URL=https://...] [AUTHOR=name]
release: venv
	bash scripts/release.sh --source-code-url '$(SOURCE_CODE_URL)' --home-page-url '$(HOME_PAGE_URL)' --author '$(AUTHOR)'

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache examples/cdk/cdk.out dist cdk/build
