package monitor

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/netns"
	"github.com/nltrace/nltrace/nlclient"
)

// running is a Monitor reading in the background.
type running struct {
	*Monitor
	cancel context.CancelFunc
	done   chan error

	mu     sync.Mutex
	events []Event
	wake   chan struct{}
	// hold, while locked, stalls the reader at its next event, as a slow
	// consumer would.
	hold sync.Mutex
}

// start opens a monitor and runs it until the test ends.
func start(t *testing.T, cfg Config) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	m, err := Open(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	r := &running{Monitor: m, cancel: cancel, done: make(chan error, 1), wake: make(chan struct{}, 1)}
	go func() {
		r.done <- m.Run(ctx, func(e Event) {
			r.hold.Lock()
			r.hold.Unlock()
			r.mu.Lock()
			r.events = append(r.events, e)
			r.mu.Unlock()
			select {
			case r.wake <- struct{}{}:
			default:
			}
		})
	}()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop ends Run and returns every event; Run must end cleanly.
func (r *running) stop(t *testing.T) []Event {
	t.Helper()
	if r.cancel != nil {
		r.cancel()
		r.cancel = nil
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return 10 s after its context ended")
		}
		r.Close()
	}
	return r.snapshot()
}

func (r *running) snapshot() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// waitFor waits until an event satisfies match and returns it.
func (r *running) waitFor(t *testing.T, what string, match func(Event) bool) Event {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		for _, e := range r.snapshot() {
			if match(e) {
				return e
			}
		}
		select {
		case <-r.wake:
		case err := <-r.done:
			t.Fatalf("Run ended (%v) before %s", err, what)
		case <-deadline:
			t.Fatalf("no %s in 20 s; events:\n%s", what, lines(r.snapshot()))
		}
	}
}

func lines(events []Event) string {
	var b strings.Builder
	for _, e := range events {
		b.WriteString(e.String() + "\n")
	}
	return b.String()
}

// dial opens a change client in the namespace at path.
func dial(t *testing.T, path string) *nlclient.Client {
	t.Helper()
	c, err := nlclient.Dial(nlclient.Target{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func index(t *testing.T, c *nlclient.Client, name string) int32 {
	t.Helper()
	i, err := c.LinkIndex(name)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// setNSID gives the namespace at peer an id in the namespace at path, as
// `ip netns set` does, and returns it.
func setNSID(t *testing.T, path, peer string) int32 {
	t.Helper()
	f, err := netns.Open(peer)
	must(t, err)
	defer f.Close()
	var id int32 = -1
	err = netns.Do(path, func() error {
		c, err := netlink.Dial(unix.NETLINK_ROUTE, nil)
		if err != nil {
			return err
		}
		defer c.Close()
		ae := netlink.NewAttributeEncoder()
		ae.Uint32(unix.NETNSA_FD, uint32(f.Fd()))
		ae.Int32(unix.NETNSA_NSID, -1) // any free id
		attrs, err := ae.Encode()
		if err != nil {
			return err
		}
		if _, err := c.Execute(netlink.Message{
			Header: netlink.Header{Type: unix.RTM_NEWNSID, Flags: netlink.Request | netlink.Acknowledge},
			Data:   append([]byte{unix.AF_UNSPEC, 0, 0, 0}, attrs...),
		}); err != nil {
			return err
		}
		n := &nsids{conn: c}
		id, err = n.idOf(peer)
		return err
	})
	must(t, err)
	if id < 0 {
		t.Fatalf("%s has no id in %s", filepath.Base(peer), filepath.Base(path))
	}
	return id
}

// netlinkDiag says why writers cannot be named here: the guests' kernels
// build netlink_diag as a module that they do not load.
func netlinkDiag() error { return CheckWriters() }

// iproute2 says why `ip monitor` cannot run: busybox's ip, in the guests.
func iproute2() error {
	out, err := exec.Command("ip", "-V").CombinedOutput()
	if err != nil {
		return err
	}
	if !strings.Contains(string(out), "iproute2") {
		return errors.New("ip is not iproute2's: " + strings.TrimSpace(string(out)))
	}
	return nil
}
