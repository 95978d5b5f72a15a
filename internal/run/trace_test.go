package run

import "testing"

func TestTraceUnavailableIsNotFatal(t *testing.T) {
	// A namespace path that cannot be opened stands for any reason the
	// probe cannot start: only a required trace fails the run.
	if _, err := startTrace(Trace{Mode: TraceRequired}, "/nonexistent/netns"); err == nil {
		t.Fatal("required trace: no error")
	}
	tr, err := startTrace(Trace{Mode: TraceOff}, "")
	if err != nil || tr.finish() != nil {
		t.Fatalf("trace off: %v", err)
	}
}
