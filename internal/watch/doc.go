// Package watch observes the rtnetlink dumps of every process on a host,
// in every network namespace, and explains each one the kernel
// interrupted: which counter moved between which chunks, and which
// process or kernel event moved it.
//
// Run attaches the probe, joins its chunk samples and counter bumps as
// they come (correlate.Joiner in FromSamples mode: no result of the
// dumper's is needed), and hands a Record per interrupted dump and per
// overload to the caller, a Summary per dumping process at the end, and
// Prometheus metrics to whoever scrapes them. Memory is bounded however
// long it runs: the join keeps events only while a dump can need them,
// and the per-process figures are bounded in the processes they name.
package watch
