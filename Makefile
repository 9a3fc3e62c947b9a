# librasp — every entry point a developer or CI needs. `make help` lists them.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: help build test demo bench lint deps services clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

build: ## Release librasp.so and the rasp CLI (target/release/)
	$(CARGO) build --release -p librasp-agent -p rasp

demo: ## The example app under the agent in block mode: attacks blocked, events shown
	./scripts/demo.sh

test: deps ## Every test: unit, corpus, property and shim tests (installs what they need)
	$(CARGO) build -p librasp-agent
	$(CARGO) test --workspace

bench: ## Criterion benchmarks: detection hot paths, and the agent's overhead on a real server
	$(CARGO) bench -p librasp-policy
	$(CARGO) build --release -p librasp-agent
	RASP_LIB=$(CURDIR)/target/release/librasp.so $(CARGO) bench -p librasp-shim-tests --bench overhead

lint: ## rustfmt and clippy, warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

deps: ## Install the programs the shim tests run (Debian packages, only when missing)
	./scripts/install-deps.sh

services: ## Start the local PostgreSQL and MariaDB servers the database tests use
	./scripts/start-services.sh

clean:
	$(CARGO) clean
