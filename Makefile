# The front door: thin wrappers around meson and the scripts. `make help` lists them.
SHELL := /bin/bash
BUILDDIR ?= build
C_SOURCES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

.DEFAULT_GOAL := help
.PHONY: help deps build test run up down status migrate-up bench bench-dns bench-api bench-login fmt lint docs \
	docker-up docker-down

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
		awk -F':.*## ' '{ printf "  make %-12s %s\n", $$1, $$2 }'

deps: ## install the Debian packages the project needs (skipped when all are present)
	@scripts/deps.sh

build: deps ## build the daemons and tools into build/
	@[ -f $(BUILDDIR)/build.ninja ] || meson setup $(BUILDDIR) --buildtype=debugoptimized
	@ninja -C $(BUILDDIR)

test: deps ## sanitizer build, all unit and integration tests on real servers; ends "N passed, N failed"
	@tests/run

run: build ## install, build and run the platform in the foreground with logs; Ctrl-C stops it
	@scripts/stack.sh run

up: build ## start the local stack and the dashboard (http://127.0.0.1:3000) in the background (state in .run/)
	@scripts/stack.sh up

down: ## stop everything `make up` started
	@scripts/stack.sh down

status: ## show what of the local stack runs
	@scripts/stack.sh status

migrate-up: build ## apply pending schema migrations to the local stack's database
	@scripts/stack.sh migrate

bench: build ## run the benchmarks (tests/bench/) and print their figures, bench-dns and bench-login included
	@tests/bench/run $(BUILDDIR)
	@tests/bench/dns.sh $(BUILDDIR)
	@tests/bench/login.sh $(BUILDDIR)

bench-dns: build ## dnsperf: PowerDNS + ddns-backend against pdns with gpgsql and lmdb
	@tests/bench/dns.sh $(BUILDDIR)

bench-login: build ## ddns-user on a private stack: login time for an unknown email vs a wrong password
	@tests/bench/login.sh $(BUILDDIR)

bench-api: build ## ddns-api on a private stack: authenticated writes/s, reads/s (wrk), API-to-DNS propagation latency
	@tests/bench/api.sh $(BUILDDIR)

fmt: ## format the C sources with clang-format
	@clang-format -i $(C_SOURCES)

lint: build ## check formatting, the OpenAPI documents, the README's configuration reference, and the dashboard (eslint, tsc)
	@scripts/check-format.sh
	@scripts/lint-openapi.sh
	@scripts/config-reference.sh --check $(BUILDDIR)
	@scripts/frontend.sh lint
	@scripts/frontend.sh typecheck

docs: build ## regenerate the README's configuration reference from the config tables
	@scripts/config-reference.sh --write $(BUILDDIR)

docker-up: ## the seed's name: no Docker engine here, so this runs `make up`
	@if command -v docker >/dev/null && docker info >/dev/null 2>&1; then \
		echo "docker-up: a Docker engine answers, but the stack runs as local processes; using make up"; \
	else \
		echo "docker-up: Docker is not available here; starting the local stack with make up"; \
	fi
	@$(MAKE) --no-print-directory up

docker-down: ## the seed's name: runs `make down`
	@$(MAKE) --no-print-directory down
