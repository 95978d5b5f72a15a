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

// Listening lists the namespaces the tracepoint backend's listeners are in.
func Listening(p *Probe) []uint64 {
	p.listenMu.Lock()
	defer p.listenMu.Unlock()
	var out []uint64
	for _, l := range p.listen {
		out = append(out, l.netns)
	}
	return out
}
