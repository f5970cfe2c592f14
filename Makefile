# The two commands of the README: `make run` and `make test`.
GO ?= go
TEMPORAL_CLI_VERSION := v1.5.1
# Tests and `spotcheck dev` find the Temporal dev server here; it is built
# from the Go module proxy once and never downloaded as a prebuilt binary.
export TEMPORAL_CLI := $(CURDIR)/bin/temporal

.PHONY: run test build check bench clean chromium screenshots

run: bin/temporal build
	bin/spotcheck dev

build:
	$(GO) build -o bin/spotcheck ./cmd/spotcheck

# Later tags of the CLI cannot be go-installed (a replace directive).
bin/temporal:
	GOBIN=$(CURDIR)/bin $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

check:
	$(GO) vet ./...
	@out=$$(gofmt -l .); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

test: bin/temporal check chromium
	$(GO) test -count=1 -timeout 18m ./...

# The portal's browser tests drive Debian's Chromium, with a Chinese font for
# the screenshots; installed from the distribution's packages when missing,
# never downloaded as a browser build.
chromium:
	@if ! command -v chromium >/dev/null || ! fc-list :lang=zh | grep -q .; then \
	  apt-get update -q && apt-get install -y -q chromium fonts-wqy-microhei; fi

# The portal's pages at 1280 and 360 px and the console's at 1280 px, as the
# browser tests see them.
screenshots: chromium
	mkdir -p .artifacts
	$(GO) test -count=1 -run 'TestPortal|TestConsolePages' -artifacts -outputdir $(CURDIR)/.artifacts ./web
	@echo "screenshots under .artifacts/_artifacts/"

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

clean:
	rm -rf bin
