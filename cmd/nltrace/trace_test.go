package main

import "testing"

func TestTraceUnavailableIsNotFatal(t *testing.T) {
	// A namespace path that cannot be opened stands for any reason the
	// probe cannot start: implicit tracing goes on, explicit fails.
	tr, err := startTrace(traceConfig{on: true}, "/nonexistent/netns")
	if err != nil {
		t.Fatalf("implicit trace: %v", err)
	}
	rep := tr.Stop()
	if rep == nil || rep.Unavailable == "" {
		t.Fatalf("report %+v: want the reason tracing is unavailable", rep)
	}
	if _, err := startTrace(traceConfig{on: true, explicit: true}, "/nonexistent/netns"); err == nil {
		t.Fatal("explicit trace: no error")
	}
	if tr, err := startTrace(traceConfig{}, ""); err != nil || tr.Stop() != nil {
		t.Fatalf("trace off: %v", err)
	}
}
