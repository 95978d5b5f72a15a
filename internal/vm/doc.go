// Package vm boots Debian kernels (or a kernel the user has) under QEMU
// with a payload of the caller's choosing: scripts/vmtest runs the
// module's tests in the guests, `nltrace check` runs its own probe.
//
// The steps are separate so that each caller keeps what is its own:
// ParseSpec names a guest, Resolve downloads and extracts its kernel into
// a cache, Archive writes the initramfs (PackBase and Preamble give every
// guest the same base system), Boot runs QEMU with a serial log and a
// timeout, and Markers finds the lines a payload prints to report back.
// The guest's verdict always comes from its serial log, never from QEMU's
// exit status: a guest that panics or hangs must not look like a pass.
//
// docs/vm.md records the facts about Debian's kernels and QEMU this
// package relies on.
package vm
