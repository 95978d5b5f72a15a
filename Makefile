# nltrace: reproduce, measure and explain interrupted netlink dumps.
# The BPF compiler (clang-19) and its flags are pinned on the //go:generate
# line in probe/gen.go, so that `go generate` alone gives the same bytes.
GO      ?= go
BIN     := bin/nltrace
# Tests that cannot run here fail instead of skipping (internal/testenv).
REQUIRE ?= root,vm,lab,tracepoint,prometheus,rsvg

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

.PHONY: deps
deps: ## Install what building and testing need (apt packages; idempotent)
	scripts/deps.sh

.PHONY: build
build: ## Build bin/nltrace (no clang needed: the BPF objects are committed)
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/nltrace

.PHONY: demo
demo: build ## Build, then reproduce interrupted link dumps under churn (needs root)
	$(BIN) dump --churn --duration 10s

.PHONY: test
test: deps lint host-test check-generated vmtest ## Everything CI runs: lint, host tests, generated files, kernel matrix

.PHONY: lint
lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...

.PHONY: host-test
host-test: ## Unit and root tests on this machine
	NLTRACE_REQUIRE=$(REQUIRE) $(GO) test -count=1 ./...

.PHONY: fuzz
fuzz: ## Fuzz the datagram parser for FUZZTIME (default 60s)
	$(GO) test -run XXX -fuzz FuzzDatagram -fuzztime $${FUZZTIME:-60s} ./nlclient

.PHONY: lab
lab: ## Build the client lab (vishvananda/netlink v1.1.0, v1.2.1, v1.3.1, ip) into bin/lab
	scripts/lab.sh build bin/lab

.PHONY: bench
bench: ## Benchmarks with their baselines (needs root): nlclient's dumps, the tracepoint backend's overhead, nltrace watch's overhead and memory (1 min)
	scripts/bench-dump.sh
	scripts/bench-trace.sh
	$(GO) test -count=1 -run '^$$' -bench WatchOverhead -benchtime 10x ./internal/watch
	$(GO) test -count=1 -run '^$$' -bench WatchMemory -benchtime 1x ./internal/watch

-include scripts/vmtest/vmtest.mk
-include bpf/bpf.mk
