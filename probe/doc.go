// Package probe watches netlink dumps from inside the kernel with eBPF.
//
// It samples every chunk of every rtnetlink dump (the requester, the
// sequence numbers the kernel compares, the generation counters, and
// whether the chunk really carries NLM_F_DUMP_INTR), and records every
// call that bumps one of those counters (device registered, address added,
// nexthop replaced...). Open attaches it, Run delivers the events as
// *Sample and *Writer values; the correlate package joins them to the
// dumps userspace saw.
//
// The BPF C lives in bpf/: dump.c (the chunk samples) and writer.c (the
// counter bumps) compile to one object each with bpf2go (see gen.go), for
// amd64 and arm64, and share one ring buffer. The Go mirrors of the event
// structs and the typed views of programs, maps and variables are
// generated too, so that no program is named by a string here.
//
// Two backends load from the same objects: fentry/fexit (preferred) and
// kprobe/kretprobe; each hook has one program per backend, and the other
// backend's programs are deleted before load. Hooks whose kernel function
// is missing or inlined are skipped and listed in Probe.Skipped, so that
// reports can say what they could not observe.
//
// Open's error wraps ErrUnavailable only when the kernel or the process
// lacks what tracing needs (BTF, kprobes, the right to load the program
// type, a function to attach to). Any other error, a program the verifier
// rejects above all, is a bug and is reported as one.
package probe
