# The two commands for a fresh machine:
#   make run   installs what is missing, builds, serves on localhost with SQLite and demo data
#   make test  installs what is missing, starts a throwaway PostgreSQL, runs every test on both databases
SHELL := /bin/bash
LISTEN ?= 127.0.0.1:7400
DATA ?= ./data

.PHONY: run test deps build lint fmt bench

deps:
	scripts/install-deps.sh

build: deps
	cargo build --workspace --all-targets

run: deps
	cargo build --bin opencourt
	scripts/prepare-run.sh "$(DATA)"
	./target/debug/opencourt serve --listen $(LISTEN) --data $(DATA) --demo

test: deps
	scripts/test.sh

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

bench: deps
	scripts/bench.sh
