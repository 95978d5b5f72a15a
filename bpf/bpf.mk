# BPF objects: included from the top-level Makefile.
# The generated Go and objects in probe/ are committed; `make generate`
# must reproduce them byte for byte with the pinned compiler, and
# `make check-generated` (run in CI) fails when it does not.
# The compiler and its flags are pinned on the //go:generate line in
# probe/gen.go (clang-19, llvm-strip-19, -O2 -g -Wall -Werror), so that
# `go generate` alone gives the same bytes. The libbpf headers are vendored in
# bpf/include (scripts/update-libbpf-headers.sh), never the distribution's.
GO ?= go

BPF_GENERATED := $(foreach side,dump writer syscall,$(foreach arch,x86 arm64,probe/$(side)_$(arch)_bpfel.go probe/$(side)_$(arch)_bpfel.o))

.PHONY: generate check-generated
generate: ## Rebuild the BPF objects and their Go bindings with bpf2go (needs clang-19, llvm-19)
	@command -v clang-19 >/dev/null && command -v llvm-strip-19 >/dev/null || { echo "clang-19 or llvm-strip-19 not found: apt-get install clang-19 llvm-19" >&2; exit 1; }
	cd probe && $(GO) generate ./...

check-generated: generate ## Fail when the committed BPF objects differ from a fresh `make generate`
	@git diff --exit-code -- $(BPF_GENERATED) || { echo "generated files are not up to date: run make generate and commit" >&2; exit 1; }
	@test -z "$$(git status --porcelain -- probe/ | grep '^??' | grep _bpfel)" || { echo "untracked generated files in probe/: commit them" >&2; exit 1; }
