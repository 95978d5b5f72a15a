// Package probe watches netlink dumps from inside the kernel with eBPF.
//
// It samples every chunk of every rtnetlink dump (the requester, the
// sequence numbers the kernel compares, the generation counters, and
// whether the chunk really carries NLM_F_DUMP_INTR), and records every
// call that bumps one of those counters (device registered, address added,
// nexthop replaced...). The BPF C lives in bpf/ and is compiled by bpf2go
// (see gen.go); the Go mirrors of its event structs are generated too.
//
// Two backends load from the same object: fentry/fexit (preferred) and
// kprobe/kretprobe. Hooks whose kernel function is missing or inlined are
// skipped and listed in Probe.Skipped, so that reports can say what they
// could not observe.
package probe
