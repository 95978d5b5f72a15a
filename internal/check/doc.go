// Package check runs nltrace's regression suite: named checks, each with
// an expectation, a measured fact and a verdict, on this machine's kernel
// or, through package vm, on kernels booted under QEMU.
//
// Every fact is a number (a chunk offset, a count of chunks, 0 or 1 for
// "seen") so that a known-good kernel's facts can be stored as a baseline
// and later kernels held to them. Expectations come from what
// docs/kernel.md says of the kernel in hand, decided from its BTF where it
// can, and from the user for their own client (--exec).
package check
