package nlclient

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestDialRefusesAFIFO: a path that is not a namespace file is an error
// that says so, at once; opening a FIFO the ordinary way blocks until a
// writer comes, forever.
func TestDialRefusesAFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		c, err := Dial(Target{Path: fifo})
		if err == nil {
			c.Close()
		}
		errc <- err
	}()
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "FIFO") {
			t.Errorf("Dial(%s) = %v, want an error saying it is a FIFO", fifo, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("Dial(%s) still blocked after 5 s", fifo)
	}
}

func TestDialNamesAMissingNamespace(t *testing.T) {
	_, err := Dial(Target{Path: "/run/netns/nltrace-no-such-namespace"})
	if err == nil || !strings.Contains(err.Error(), "ip netns list") {
		t.Errorf("Dial of a missing namespace = %v, want a hint", err)
	}
}
