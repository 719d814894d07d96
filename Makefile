# steerdns: build a coredns binary with the steerdns plugins, run the demo, run the tests.
GO ?= go
export GOFLAGS ?= -buildvcs=false

.PHONY: all build generate run test check bench deps clean

all: build

# Editing coredns-build/plugin.cfg and running `make` is all it takes to add or drop a plugin.
build: generate
	$(GO) build -o coredns ./coredns-build

generate:
	$(GO) generate ./coredns-build/...

run: build
	./examples/demo/run.sh

# deps installs what the tests need on a fresh machine (Debian): nothing is assumed.
deps:
	@./.ci/deps chromium

check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

test: deps check build
	$(GO) test -race -timeout 30m ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./plugin/...

clean:
	rm -rf coredns bin
