# jiguang-growth: spec -> generator -> generated/ -> overlays/ -> you.
# Every target installs what it needs, so each works from a fresh clone.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
NODE_BIN := node_modules/.bin
SPEC := openapi.yaml
GENERATED := generated/jiguang_growth_generated
PYTEST_ARGS ?=

# The venv, then node_modules/.bin: its node is the pinned Node (package.json) the Node tools run on.
export PATH := $(CURDIR)/$(BIN):$(CURDIR)/$(NODE_BIN):$(PATH)
export REDOCLY_TELEMETRY := off
export REDOCLY_SUPPRESS_UPDATE_NOTICE := true
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# make docs: ports for Swagger UI and the sandbox (default 8088 and 8765, or free ones if taken).
DOCS_PORT ?=
SANDBOX_PORT ?=
DOCS_ARGS ?=
# make breaking: the released spec and Python API to compare with (default: newest in
# spec-baseline/ and api-baseline/).
BASELINE ?=
API_BASELINE ?=
# make browser: Debian's Chromium for the browser tests (never a downloaded browser).
CHROMIUM := /usr/bin/chromium
# Latin and CJK glyphs, so the spec's Chinese names are readable in screenshots (1.6 MB for CJK).
BROWSER_FONTS := fonts-dejavu-core fonts-wqy-microhei
# make redis: Debian's redis-server for the shared-quota tests (started on 127.0.0.1 by the tests).
REDIS_SERVER := /usr/bin/redis-server
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# make clients: the generators other teams use, pinned in their own venv (see clients/requirements.txt).
CLIENTS_VENV := build/clients-venv
JAVA_PACKAGES := openjdk-17-jdk-headless maven

.PHONY: help demo setup validate lint generate check test typecheck clean docs bundle breaking types browser redis curl bench \
	clients clients-setup java dist

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'
	@echo "  (make docs DOCS_PORT=N SANDBOX_PORT=N; make breaking BASELINE=released.yaml API_BASELINE=released.tar.gz)"

$(VENV)/.installed: pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==25.3
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "setup: Node.js is missing; install step 'apt-get install nodejs npm' is needed"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed node_modules/.installed ## Create .venv and node_modules with pinned tools

demo: setup ## Main job: set up, validate, regenerate (no drift), run every operation against the sandbox
	$(MAKE) --no-print-directory check
	$(PY) -m jiguang_growth.demo

validate: $(VENV)/.installed ## Check openapi.yaml against the OpenAPI 3.0 schema
	$(BIN)/openapi-spec-validator $(SPEC)
	$(PY) tools/check_refs.py $(SPEC)

lint: node_modules/.installed ## Lint openapi.yaml with Spectral (project rules) and Redocly
	$(NODE_BIN)/spectral lint $(SPEC) --ruleset .spectral.yaml --fail-severity=warn
	$(NODE_BIN)/redocly lint $(SPEC) --config redocly.yaml

generate: $(VENV)/.installed ## Regenerate the client in generated/ from openapi.yaml
	$(PY) codegen/generate.py

check: validate lint generate ## validate + lint + generate, then fail if generated/ drifted
	@drift="$$(git status --porcelain --untracked-files=all -- generated/)"; \
	if [ -n "$$drift" ]; then \
	  echo "check: generated/ is out of date with $(SPEC); run 'make generate' and commit:"; \
	  echo "$$drift"; git --no-pager diff --stat -- generated/; exit 1; \
	fi; echo "check: generated/ matches $(SPEC)"

test: setup browser redis curl clients-setup ## Run the whole test suite
	$(BIN)/pytest $(PYTEST_ARGS)

$(CLIENTS_VENV)/.installed: clients/requirements.txt
	@$(PYTHON) -m venv $(CLIENTS_VENV) || { echo "clients: install step 'python3 -m venv $(CLIENTS_VENV)' failed"; exit 1; }
	@$(CLIENTS_VENV)/bin/pip install --quiet -r clients/requirements.txt || { \
	  echo "clients: install step 'pip install -r clients/requirements.txt' (OpenAPI Generator, Go, datamodel-code-generator) failed"; exit 1; }
	@touch $@

java: ## Install Debian's Java 17 JDK and Maven with apt, only if one is missing (generator, Java/Kotlin builds)
	@if command -v java >/dev/null && command -v javac >/dev/null && command -v mvn >/dev/null; then \
	  echo "java: $$(command -v java), javac and mvn are installed"; else \
	  { $(SUDO) apt-get -o DPkg::Lock::Timeout=600 update && \
	    $(SUDO) apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends $(JAVA_PACKAGES); } || { \
	    echo "clients: install step 'apt-get install $(JAVA_PACKAGES)' failed"; exit 1; }; fi
	@command -v node >/dev/null || { echo "clients: Node.js is missing; install step 'apt-get install nodejs npm' is needed"; exit 1; }

clients-setup: setup java $(CLIENTS_VENV)/.installed

clients: clients-setup ## Generate, build, round-trip, run live and tolerant: Go (2 generators), TypeScript, pydantic, Java, Kotlin, Rust
	$(BIN)/pytest tests/clients $(PYTEST_ARGS)

typecheck: $(VENV)/.installed ## mypy --strict (package, tools, benchmarks) and ruff over the tree (make test runs these too)
	$(BIN)/mypy
	$(BIN)/mypy --strict tools
	$(BIN)/mypy --strict benchmarks
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(VENV)/.installed redis ## Benchmarks: overhead, start-up, bulk, pacing, background reporter (about 40 min)
	$(PY) benchmarks/overhead.py
	$(PY) benchmarks/startup.py
	$(PY) benchmarks/bulk.py all
	$(PY) benchmarks/pacing.py all
	$(PY) benchmarks/pacer_waiters.py
	$(PY) benchmarks/reporter.py all

docs: $(VENV)/.installed node_modules/.installed ## Serve Swagger UI + sandbox on 127.0.0.1 (Ctrl-C stops); write dist/api-reference.html
	$(PY) tools/docs.py serve $(if $(DOCS_PORT),--port $(DOCS_PORT)) $(if $(SANDBOX_PORT),--sandbox-port $(SANDBOX_PORT)) $(DOCS_ARGS)

bundle: $(VENV)/.installed node_modules/.installed clients-setup ## Write validated dist/openapi.json, dist/openapi.yaml and dist/README.md, and dist/rust-templates/ (needs Java: the Rust template comes from the pinned generator)
	$(PY) tools/bundle.py

breaking: $(VENV)/.installed node_modules/.installed ## Fail on a breaking change (spec or Python API) without a major bump
	$(PY) tools/breaking.py $(if $(BASELINE),--baseline $(BASELINE))
	$(PY) tools/api_breaking.py $(if $(API_BASELINE),--baseline $(API_BASELINE))

dist: $(VENV)/.installed ## Build the sdist and the wheel into dist/ (python -m build) and check the wheel's contents
	$(PY) tools/dist.py

types: $(VENV)/.installed node_modules/.installed ## TypeScript types (openapi-typescript) checked by tsc --strict
	$(PY) tools/typescript.py

browser: ## Install Debian's chromium (and fonts, CJK included) with apt, only if one is missing
	@if [ -x $(CHROMIUM) ] && dpkg -s $(BROWSER_FONTS) >/dev/null 2>&1; then \
	  echo "browser: $(CHROMIUM) and fonts are installed"; else \
	  $(SUDO) apt-get -o DPkg::Lock::Timeout=600 update && \
	  $(SUDO) apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends \
	    chromium $(BROWSER_FONTS); fi

redis: ## Install Debian's redis-server with apt, only if it is missing (the shared-quota tests start it)
	@if [ -x $(REDIS_SERVER) ]; then echo "redis: $(REDIS_SERVER) is installed"; else \
	  $(SUDO) apt-get -o DPkg::Lock::Timeout=600 update && \
	  $(SUDO) apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends redis-server; fi

curl: ## Install Debian's curl with apt, only if it is missing (docs/service.md's commands use it)
	@if command -v curl >/dev/null; then echo "curl: $$(command -v curl) is installed"; else \
	  $(SUDO) apt-get -o DPkg::Lock::Timeout=600 update && \
	  $(SUDO) apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends curl; fi

clean: ## Remove the venv, node_modules and build output (never generated/)
	rm -rf $(VENV) node_modules dist build .mypy_cache .ruff_cache .pytest_cache
	find . -name __pycache__ -type d -prune -not -path './node_modules/*' -exec rm -rf {} +
