package probe

// The compiler and flags are pinned here (bpf/bpf.mk only runs this): `make generate` must
// reproduce the committed objects byte for byte. -nostdinc keeps the distribution's libbpf
// headers out: only the vendored ones in bpf/include (scripts/update-libbpf-headers.sh) count.
// One object per side (see bpf/common.h), and two for the tracepoint backend (bpf/syscall.c,
// bpf/ready.c where the kernel has sock:sk_data_ready);
// each object's event types come from its own object.
//go:generate go tool bpf2go -cc clang-19 -strip llvm-strip-19 -cflags "-O2 -g -Wall -Werror -nostdinc" -target amd64,arm64 -type chunk_event -type event_type -type counter_id dump ../bpf/dump.c -- -I../bpf/include -I../bpf
//go:generate go tool bpf2go -cc clang-19 -strip llvm-strip-19 -cflags "-O2 -g -Wall -Werror -nostdinc" -target amd64,arm64 -type writer_event -type writer_op -type context writer ../bpf/writer.c -- -I../bpf/include -I../bpf
//go:generate go tool bpf2go -cc clang-19 -strip llvm-strip-19 -cflags "-O2 -g -Wall -Werror -nostdinc" -target amd64,arm64 -type request_event -type dev_state syscall ../bpf/syscall.c -- -I../bpf/include -I../bpf
//go:generate go tool bpf2go -cc clang-19 -strip llvm-strip-19 -cflags "-O2 -g -Wall -Werror -nostdinc" -target amd64,arm64 -type notice_event ready ../bpf/ready.c -- -I../bpf/include -I../bpf
//go:generate go tool bpf2go -cc clang-19 -strip llvm-strip-19 -cflags "-O2 -g -Wall -Werror -nostdinc -DTP_BTF" -target amd64,arm64 -type notice_event readybtf ../bpf/ready.c -- -I../bpf/include -I../bpf
