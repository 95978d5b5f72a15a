package probe

// The compiler and flags are pinned here (bpf/bpf.mk only runs this): `make generate` must
// reproduce the committed objects byte for byte.
//go:generate go tool bpf2go -cc clang-19 -strip llvm-strip-19 -cflags "-O2 -g -Wall -Werror" -target amd64 -type chunk_event -type writer_event -type event_type -type writer_op -type counter_id -type context nltrace ../bpf/nltrace.c -- -I../bpf
