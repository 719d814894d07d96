# steerdns: build a coredns binary with the steerdns plugins, run the demo, run the tests.
GO ?= go
export GOFLAGS ?= -buildvcs=false

.PHONY: all build generate run test check bench deps screenshots fuzz mutate image clean

# VERSION is stamped into the binary (`coredns -version`) and names the image's tag.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

all: build

# Editing coredns-build/plugin.cfg and running `make` is all it takes to add or drop a plugin.
build: generate
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o coredns ./coredns-build

generate:
	$(GO) generate ./coredns-build/...

run: build
	./examples/demo/run.sh

# deps installs what the tests need on a fresh machine (Debian): nothing is assumed. chromium
# drives the console's browser tests; bind9-utils, bind9-dnsutils (dig, delv, dnssec-keygen,
# dnssec-signzone) and unbound serve the DNSSEC and resolver tests; prometheus evaluates the
# alerting rules of examples/monitoring; podman, runc, libcap2-bin and ca-certificates build and
# run the image. Quiet when all are there.
deps:
	@./.ci/deps chromium bind9-utils bind9-dnsutils unbound prometheus podman runc libcap2-bin ca-certificates

# image builds the OCI image localhost/steerdns/coredns:$(VERSION) with podman: FROM scratch,
# the static binary, CA certificates, user 65532; no Docker, no base image pulled.
image:
	@./.ci/deps podman libcap2-bin ca-certificates
	VERSION=$(VERSION) ./examples/image/build.sh

check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

test: deps check build
	$(GO) test -race -timeout 30m ./...

# screenshots retakes docs/console*.png with the console's browser test.
screenshots: deps
	STEERDNS_SCREENSHOT=1 $(GO) test -count=1 -run 'TestConsoleBrowser' ./test/

# bench measures, in one run on this machine: the query path of every plugin (Go benchmarks),
# 10,000 health-check targets, and the built coredns end to end under dnsperf with each
# Corefile of bench/e2e, alternated; it writes BENCHMARKS.md. About 10 minutes; loopback only.
BENCH_ROUNDS ?= 3
BENCH_DURATION ?= 10s
bench: build
	@./.ci/deps dnsperf
	@mkdir -p bin/bench
	$(GO) test -run '^$$' -bench . -benchmem ./plugin/... > bin/bench/go.txt; status=$$?; cat bin/bench/go.txt; exit $$status
	$(GO) run ./bench/healthload -out bin/bench/healthload.md
	$(GO) run ./bench/e2e -rounds $(BENCH_ROUNDS) -duration $(BENCH_DURATION) \
		-gobench bin/bench/go.txt -healthload bin/bench/healthload.md -notes bench/notes.md \
		-command "make bench BENCH_ROUNDS=$(BENCH_ROUNDS) BENCH_DURATION=$(BENCH_DURATION)" -out BENCHMARKS.md

# fuzz runs every Go fuzz target in the module (any `func FuzzXxx` in a _test.go file, found
# with `go test -list '^Fuzz'` per package, so new targets need no change here) for FUZZTIME
# each, one after the other; `make fuzz FUZZTIME=5m` fuzzes longer. A crasher lands in the
# package's testdata/fuzz/FuzzXxx/, where plain `go test` replays it once committed. Not part
# of `make test`: `go test` already replays the committed seed corpora.
FUZZTIME ?= 30s
fuzz:
	@FUZZTIME=$(FUZZTIME) GO=$(GO) ./.ci/fuzz

# mutate runs mutation testing (gremlins, pinned, installed into bin/tools) over each directory
# under plugin/ (sub-packages included, one row each), each mutant against its package's own
# unit tests, and writes per-package efficacy, mutant coverage and every mutant that lived to
# docs/MUTATION.md. MUTATE_DIRS="plugin/rrotate plugin/override/store" re-runs some directories
# and keeps the other rows, each with the date it was measured. Hours on a 2-core machine, so
# never part of `make test`. MUTATE_FLAGS passes gremlins flags (default --timeout-coefficient
# 10; on a shared machine "--workers 1 --timeout-coefficient 20").
mutate:
	@GO=$(GO) MUTATE_DIRS="$(MUTATE_DIRS)" MUTATE_FLAGS="$(MUTATE_FLAGS)" ./.ci/mutate

clean:
	rm -rf coredns bin
