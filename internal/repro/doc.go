// Package repro runs what reproduces interrupted dumps against a churning
// namespace: concurrent dumpers (optionally with one change injected at a
// fixed chunk of every dump) and a user's own program run over and over.
// It hands every outcome to a sink and keeps nothing itself; aggregation
// lives in package report, and a later correlation step (the eBPF tracer)
// can read the same per-dump results (Seq, PortID, NetNSInode).
package repro
