package probe

// The compiler and flags are pinned here (bpf/bpf.mk only runs this): `make generate` must
// reproduce the committed objects byte for byte. -nostdinc keeps the distribution's libbpf
// headers out: only the vendored ones in bpf/include (scripts/update-libbpf-headers.sh) count.
//go:generate go tool bpf2go -cc clang-19 -strip llvm-strip-19 -cflags "-O2 -g -Wall -Werror -nostdinc" -target amd64 -type chunk_event -type writer_event -type event_type -type writer_op -type counter_id -type context nltrace ../bpf/nltrace.c -- -I../bpf/include -I../bpf
