# Tally — build, check and test. `make` alone lists the targets.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)
# Fyne reads the system's language from LC_ALL, LC_MESSAGES or LANG when it
# starts and logs an error for the C locale. The app chooses its language
# itself (Albanian unless the user picks another), so a real locale name for
# messages quiets it; collation and the rest stay with LANG.
export LANG ?= C.UTF-8
unexport LC_ALL
export LC_MESSAGES := en_US.UTF-8

GO ?= go
BENCHTIME ?= 1s
FUZZTIME ?= 10s
STATICCHECK_VERSION ?= v0.8.2
# One version, from FyneApp.toml, stamped into both commands.
VERSION := $(shell sed -n 's/^Version *= *"\(.*\)"/\1/p' FyneApp.toml)
LDFLAGS := -X main.version=$(VERSION)
STATICCHECK = $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# Prefix for `go test` once a test needs a real display, e.g.
#   GUI_TEST_WRAPPER = xvfb-run -a -s "-screen 0 1280x1024x24"
# (xvfb comes with `make deps`). Empty: no test starts a display yet.
GUI_TEST_WRAPPER ?=

# The module's packages; empty while there is no Go code yet, and then the
# go vet/test/build steps have nothing to do.
PKGS = $(shell $(GO) list -e ./... 2>/dev/null)
CMD_PKGS = $(shell $(GO) list -e ./cmd/... 2>/dev/null)
# Go files that gofmt checks: tracked and untracked, not ignored, not testdata.
GO_FILES = $(wildcard $(shell git ls-files --cached --others --exclude-standard \
	-- '*.go' ':(exclude,glob)**/testdata/**' 2>/dev/null))

# The release: `make release` writes it into RELEASE_DIR, signed with
# RELEASE_KEY (a development key in dist/ when not given); see docs/install.md.
RELEASE_DIR ?= dist/release/$(VERSION)
RELEASE_DEV_KEY := dist/release-dev.key

.PHONY: help deps fmt-check vet nocgo test bench lint build demo clean release release-check

help: ## list the targets
	@echo "usage: make TARGET"
	@grep -E '^[a-z-]+:.*## ' $(firstword $(MAKEFILE_LIST)) | \
		awk -F':.*## ' '{ printf "  %-14s %s\n", $$1, $$2 }'

deps: ## install the Debian packages and start PostgreSQL (as root or via sudo)
	scripts/install-deps.sh build gui-test postgres release

fmt-check: ## fail listing the Go files that gofmt would change
	@bad="$$($(if $(GO_FILES),gofmt -l $(GO_FILES)))"; \
	if [[ -n $$bad ]]; then echo "gofmt needed on:"; echo "$$bad"; exit 1; fi; \
	echo "fmt-check: ok"

vet: ## go vet ./...
	$(if $(PKGS),$(GO) vet ./...,@echo "vet: no Go packages yet")

nocgo: ## build everything but ui/ and cmd/tally with CGO_ENABLED=0
	@pkgs="$$($(GO) list -e -f '{{if .GoFiles}}{{.ImportPath}}{{end}}' ./... 2>/dev/null | { grep -v -e '/ui$$' -e '/ui/' -e '/cmd/tally$$' || true; })"; \
	if [[ -z $$pkgs ]]; then echo "nocgo: no packages to build"; exit 0; fi; \
	echo "CGO_ENABLED=0 $(GO) build $$(echo $$pkgs)"; \
	CGO_ENABLED=0 $(GO) build $$pkgs

test: deps fmt-check vet nocgo ## deps, checks, go test -race, every fuzz target for FUZZTIME, release-check
	$(if $(PKGS),$(GUI_TEST_WRAPPER) $(GO) test -race -count=1 ./...,@echo "test: no Go packages yet")
	FUZZTIME=$(FUZZTIME) GO=$(GO) scripts/fuzz-short.sh
	@$(MAKE) --no-print-directory release-check

bench: ## run the benchmarks (BENCHTIME=1s), then tallyd's election-night load with readers of the results
	$(if $(PKGS),$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) ./...,@echo "bench: no Go packages yet")
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/ ./cmd/tallyd
	bin/tallyd bench

lint: fmt-check vet ## fmt-check, vet and staticcheck
	$(STATICCHECK) ./...

build: ## build the commands into bin/
	$(if $(CMD_PKGS),$(GO) build -ldflags '$(LDFLAGS)' -o bin/ ./cmd/...,@echo "build: no commands yet")

demo: deps ## build, then run tallyd with the demo election and a station that seals and sends its forms
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/ ./cmd/tallyd ./cmd/tally
	scripts/demo.sh bin demo-data

release: ## build the release into dist/release/VERSION (RELEASE_KEY=FILE; SIGN_CERT, SIGN_KEY to sign for Windows)
	@if [[ -z "$(RELEASE_KEY)" && ! -f $(RELEASE_DEV_KEY) ]]; then mkdir -p dist; \
		$(GO) run ./scripts/release/mkrelease key --out $(RELEASE_DEV_KEY); fi
	@[[ -n "$(RELEASE_KEY)" ]] || echo "release: no RELEASE_KEY given: signing with the development key $(RELEASE_DEV_KEY)"
	rm -rf $(RELEASE_DIR)
	RELEASE_KEY=$(or $(RELEASE_KEY),$(RELEASE_DEV_KEY)) GO=$(GO) scripts/release/build.sh $(RELEASE_DIR)

release-check: ## build the release twice with throwaway keys; compare, verify, tamper
	GO=$(GO) scripts/release/check.sh

clean: ## remove bin/, dist/ and demo-data/
	rm -rf bin/ dist/ demo-data/
