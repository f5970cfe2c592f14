# The two commands of the README: `make run` and `make test`.
GO ?= go
TEMPORAL_CLI_VERSION := v1.5.1
# Tests and `spotcheck dev` find the Temporal dev server here; it is built
# from the Go module proxy once and never downloaded as a prebuilt binary.
export TEMPORAL_CLI := $(CURDIR)/bin/temporal

.PHONY: run test build check bench clean

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

test: bin/temporal check
	$(GO) test -count=1 -timeout 18m ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

clean:
	rm -rf bin
