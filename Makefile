# Portcullis: `make run` to use it, `make test` to check everything. Both install what is missing
# first (scripts/setup.sh: about 10 minutes on a fresh machine, about 1 s after that).
.DEFAULT_GOAL := help
SHELL := /bin/bash
export PATH := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin:$(PATH)
export TRUNK_SKIP_VERSION_CHECK := true
LISTEN ?= 127.0.0.1:8080

.PHONY: help setup run build frontend server test lint fmt e2e test-wasm clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## install the toolchain pieces that are missing (idempotent)
	@scripts/setup.sh

run: build ## build everything (release) and serve it on http://127.0.0.1:8080 (LISTEN=...)
	@echo "Starting Portcullis on http://$(LISTEN) (ctrl-c stops it)"
	MIMALLOC_PURGE_DELAY=0 target/release/portcullis serve --listen $(LISTEN)

build: setup frontend server ## release builds of the front end (dist/) and the server

frontend: ## trunk build --release: the front end into dist/
	scripts/build-frontend.sh

server: ## cargo build --release -p portcullis
	cargo build --release -p portcullis

test: setup ## every check: format, clippy (native + wasm32), all tests, e2e in Chromium; a summary
	@scripts/test.sh

lint: ## format check and clippy (native and wasm32)
	cargo fmt --all --check
	cargo clippy --all-targets -- -D warnings
	cd frontend && cargo clippy --target wasm32-unknown-unknown --all-targets -- -D warnings

fmt: ## format every crate
	cargo fmt --all

e2e: setup frontend ## only the end-to-end tests (server + headless Chromium)
	cargo test -p portcullis-tests

test-wasm: setup ## only the front end's wasm-bindgen tests in headless Chromium
	cd frontend && cargo test --target wasm32-unknown-unknown

clean: ## remove build output (target/, dist/)
	cargo clean
	rm -rf dist
