package probe

import "testing"

// UseRawTracepoint makes the tracepoint backend load bpf/ready.c as a raw
// tracepoint, as it does where tracing programs are refused, until the
// test ends.
func UseRawTracepoint(t testing.TB) {
	old := readySides
	readySides = []side{readySide}
	t.Cleanup(func() { readySides = old })
}
