# Kernel matrix: included from the top-level Makefile.
# make vmtest KERNELS=6.12-arm64 PKG=./nlclient RUN=TestX VMTEST_FLAGS=-v
# A kernel is a Debian series (amd64) or SERIES-arm64 (arm64 under
# emulation; ARM64_PKG=./probe limits its packages when PKG is not given),
# optionally with a flavour (6.12-rt, 6.12-generic), or the path of a
# linux-image .deb or of a kernel image (docs/vm.md, "Kernel specs").
GO ?= go
KERNELS ?= 6.1 6.12 6.12-arm64
PKG ?=
RUN ?=
VMTEST_FLAGS ?=

.PHONY: vmtest
vmtest: ## Run the tests in QEMU on Debian kernels (KERNELS="6.1 6.12 6.12-arm64" PKG=./nlclient RUN=TestX VMTEST_FLAGS=-v)
	scripts/deps.sh
	$(GO) run ./scripts/vmtest -kernels '$(KERNELS)' -pkg '$(PKG)' -run '$(RUN)' $(VMTEST_FLAGS)

.PHONY: bench-vm
bench-vm: ## Benchmarks that need kprobe/fentry, in the guests (BENCH=BenchmarkOverhead PKG=./probe)
	scripts/deps.sh
	$(GO) run ./scripts/vmtest -kernels '$(KERNELS)' -pkg '$(or $(PKG),./probe)' -bench '$(or $(BENCH),.)'
