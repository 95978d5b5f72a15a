package panics

import (
	"errors"
	"strings"
	"testing"
)

func TestGuard(t *testing.T) {
	err := Guard("worker 3", func() error { panic("boom") })()
	if err == nil || !strings.Contains(err.Error(), "worker 3 panicked: boom") || !strings.Contains(err.Error(), "panics_test.go") {
		t.Errorf("panic became %v: want the name, the value and the stack", err)
	}
	want := errors.New("plain")
	if err := Guard("x", func() error { return want })(); err != want {
		t.Errorf("error %v passed through as %v", want, err)
	}
}
