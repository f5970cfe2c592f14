# The two commands of the README: `make run` and `make test`.
GO ?= go
TEMPORAL_CLI_VERSION := v1.5.1
# The Temporal server of the cluster test and of deploy/ (on PostgreSQL).
TEMPORAL_SERVER_VERSION := v1.30.4
# Tests and `spotcheck dev` find the Temporal dev server here; it is built
# from the Go module proxy once and never downloaded as a prebuilt binary.
export TEMPORAL_CLI := $(CURDIR)/bin/temporal

.PHONY: run test test-cluster build check bench clean chromium screenshots

run: bin/temporal build
	bin/spotcheck dev

build:
	$(GO) build -o bin/spotcheck ./cmd/spotcheck

# Later tags of the CLI cannot be go-installed (a replace directive).
bin/temporal:
	GOBIN=$(CURDIR)/bin $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

# The Temporal server, its SQL tool and the PostgreSQL schema files of the
# same version (from the module's source in the module cache), built from the
# Go module proxy like the CLI. The cluster test and deploy/temporal use them.
bin/temporal-server:
	GOBIN=$(CURDIR)/bin/.temporal-build $(GO) install go.temporal.io/server/cmd/server@$(TEMPORAL_SERVER_VERSION) go.temporal.io/server/cmd/tools/sql@$(TEMPORAL_SERVER_VERSION)
	rm -rf bin/temporal-schema
	mkdir -p bin/temporal-schema
	cp -R "$$($(GO) mod download -json go.temporal.io/server@$(TEMPORAL_SERVER_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p')/schema/postgresql/v12/." bin/temporal-schema/
	chmod -R u+w bin/temporal-schema
	# Only the SQL: the module's Go file there would be a package of ours.
	find bin/temporal-schema -name '*.go' -delete
	mv bin/.temporal-build/sql bin/temporal-sql-tool
	mv bin/.temporal-build/server bin/temporal-server
	rmdir bin/.temporal-build

check:
	$(GO) vet ./...
	cd deploy && $(GO) vet ./...
	@out=$$(gofmt -l .); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

test: bin/temporal bin/temporal-server check chromium
	$(GO) test -count=1 -timeout 18m ./...
	cd deploy && $(GO) test -count=1 ./...

# The cluster test alone, verbose: a batch of 2,000 objects on the Temporal
# server on PostgreSQL, as in make test (about 5 minutes on 2 cores), or of
# SPOTCHECK_CLUSTER_OBJECTS.
SPOTCHECK_CLUSTER_OBJECTS ?= 2000
test-cluster: bin/temporal bin/temporal-server
	SPOTCHECK_CLUSTER_OBJECTS=$(SPOTCHECK_CLUSTER_OBJECTS) $(GO) test -count=1 -timeout 45m -run TestClusterSurvivesLosingAnyOne -v ./cmd/spotcheck

# The portal's browser tests drive Debian's Chromium, with a Chinese font for
# the screenshots; installed from the distribution's packages when missing,
# never downloaded as a browser build.
chromium:
	@if ! command -v chromium >/dev/null || ! fc-list :lang=zh | grep -q .; then \
	  apt-get update -q && apt-get install -y -q chromium fonts-wqy-microhei; fi

# The portal's pages at 1280 and 360 px, the console's at 1280 px and a whole
# batch through the console's pages of every role (on Temporal), as the
# browser tests see them.
screenshots: bin/temporal chromium
	mkdir -p .artifacts
	$(GO) test -count=1 -run 'TestPortal|TestConsolePages' -artifacts -outputdir $(CURDIR)/.artifacts ./web
	$(GO) test -count=1 -run 'TestConsoleWholeBatch' -artifacts -outputdir $(CURDIR)/.artifacts ./cmd/spotcheck
	@echo "screenshots under .artifacts/_artifacts/"

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

clean:
	rm -rf bin
