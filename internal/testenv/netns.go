package testenv

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/nltrace/nltrace/internal/netns"
)

var nsCount atomic.Int64

// NetNS creates a network namespace for the test and removes it when the
// test ends, failed or not. It returns the namespace's path.
func NetNS(tb testing.TB) string {
	tb.Helper()
	Root(tb)
	name := fmt.Sprintf("nltrace-test-%d-%d", os.Getpid(), nsCount.Add(1))
	path, err := netns.Create(name)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := netns.Delete(name); err != nil {
			tb.Errorf("remove test namespace: %v", err)
		}
	})
	return path
}
