# Fullmakt. The two commands that matter: `make run` starts the server with demo data
# on http://localhost:8080 and the example agency on http://localhost:8081, and
# `make test` runs every test (CI runs it through .ci/run).

GO          ?= go
GOBIN       ?= $(or $(shell $(GO) env GOBIN),$(shell $(GO) env GOPATH)/bin)
# staticcheck 2026.2.2 (v0.8.2) understands Go 1.26; bump it with the Go version.
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(GOBIN)/staticcheck

# Debian packages the tests need, as /path/of/a/command:package pairs; `make deps`
# installs those whose command is missing. Chromium runs the browser tests
# (docs/BROWSER-TESTS.md).
TEST_DEBS := /usr/bin/chromium:chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# The browser tests' npm packages (axe-core), pinned in package-lock.json; npm
# writes node_modules/.package-lock.json last, so it marks a finished install.
BROWSER_NPM := cmd/fullmakt/testdata/browser
BROWSER_NPM_STAMP := $(BROWSER_NPM)/node_modules/.package-lock.json

.DEFAULT_GOAL := help

.PHONY: help run build deps test lint bench screenshots

help: ## list the targets
	@echo "Usage: make TARGET"
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: build ## start the server with the demo cast on http://localhost:8080, and the example agency on http://localhost:8081
	@bin/example-agency --demo & agency=$$!; \
	trap 'kill $$agency 2>/dev/null; wait $$agency 2>/dev/null' EXIT INT TERM; \
	bin/fullmakt serve --demo

build: ## build bin/fullmakt and bin/example-agency
	$(GO) build -o bin/ ./cmd/fullmakt ./cmd/example-agency

deps: ## install the Debian packages the tests need, when missing
	@missing=""; \
	for pair in $(TEST_DEBS); do \
		[ -x "$${pair%%:*}" ] || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends $$missing; \
	fi

test: deps $(BROWSER_NPM_STAMP) ## vet, then run every test with the race detector
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

# npm ci installs exactly what package-lock.json says (integrity-checked), from
# npm's cache when it has it.
$(BROWSER_NPM_STAMP): $(BROWSER_NPM)/package.json $(BROWSER_NPM)/package-lock.json
	npm ci --prefix $(BROWSER_NPM) --prefer-offline --no-audit --no-fund

screenshots: deps $(BROWSER_NPM_STAMP) ## save screenshots of the pages to docs/screenshots
	FULLMAKT_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run Browser ./cmd/fullmakt

lint: $(STATICCHECK) ## gofmt, go vet and staticcheck
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt -l found unformatted files:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

$(STATICCHECK):
	GOBIN=$(GOBIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

bench: ## run the benchmarks (no tests)
	$(GO) test -run='^$$' -bench=. -benchmem ./...
