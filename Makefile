# The template's own commands. Each installs what it needs first.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
# A pinned uv, installed with pip into .tools/ on first use (override with UV=...).
UV_VERSION := 0.13.9
UV ?= $(CURDIR)/.tools/bin/uv
VENV := .venv
DEMO_DIR := samples/default/render
DEMO_PORT ?= 8000
# Two workers: the samples' own checks are the long part, and they run side by side.
PYTEST_ARGS ?= -n 2

export UV

.PHONY: help install test demo samples loadtest lint contracts clean

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock | $(filter $(CURDIR)/.tools/bin/uv,$(UV))
	$(UV) sync --frozen
	@touch $@

install: $(VENV)/.installed ## Install the template's test tools into .venv

test: lint contracts ## Run the template's whole test suite (renders and checks every sample)
	$(UV) run --frozen pytest $(PYTEST_ARGS)

lint: install ## ruff on the template's own Python
	$(UV) run --frozen ruff check tests scripts
	$(UV) run --frozen ruff format --check tests scripts

contracts: install ## Check the WebSocket module's JSON Schemas and their examples (no render needed)
	$(UV) run --frozen python scripts/ci/check_contracts.py

samples: install ## Render every sample, run its smoke test and its make quality
	$(UV) run --frozen ./scripts/render-samples.sh

demo: install ## Render samples/default and serve its demo page; prints the page's URL with a token
	$(UV) run --frozen ./scripts/render-sample.sh default $(DEMO_DIR)
	@alice=$$($(MAKE) -C $(DEMO_DIR) --no-print-directory -s token USER=alice 2>/dev/null); \
	bob=$$($(MAKE) -C $(DEMO_DIR) --no-print-directory -s token USER=bob 2>/dev/null); \
	echo; \
	echo "Open the demo page, signed in as alice:"; \
	echo "  http://127.0.0.1:$(DEMO_PORT)/ws/demo#token=$$alice"; \
	echo "and, in a second window, as bob, to talk to each other:"; \
	echo "  http://127.0.0.1:$(DEMO_PORT)/ws/demo#token=$$bob"; \
	echo "Without #token=... the page uses the public echo endpoint. Ctrl-C stops the server."; \
	echo
	cd $(DEMO_DIR) && PORT=$(DEMO_PORT) WS_DEMO_PAGE=true \
		WS_ALLOWED_ORIGINS=http://127.0.0.1:$(DEMO_PORT),http://localhost:$(DEMO_PORT) \
		$(MAKE) --no-print-directory run

loadtest: install ## Render samples/default, serve it, load-test it (LOADTEST_ARGS="-n 10000 -k 20 --interval 0.5")
	$(UV) run --frozen ./scripts/loadtest.sh $(LOADTEST_ARGS)

clean: ## Remove rendered samples and tool environments
	rm -rf .tools $(VENV) samples/*/render
