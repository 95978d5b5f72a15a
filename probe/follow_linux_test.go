package probe_test

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/nltrace/nltrace/internal/netns"
	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

// TestListenerFollowsNamespaces: watching every namespace, the tracepoint
// backend sees the changes of a namespace made after it opened, and lets
// go of a namespace once it is deleted, which its socket would keep alive.
func TestListenerFollowsNamespaces(t *testing.T) {
	r := record(t, probe.Tracepoint, probe.Config{})
	defer r.stop(t)
	if r.p.Hooks != probe.ReadyHooks {
		t.Skip("the syscall-tracepoint design sees requests in every namespace without a listener")
	}
	name := fmt.Sprintf("nltrace-follow-%d", os.Getpid())
	path, err := netns.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	deleted := false
	defer func() {
		if !deleted {
			netns.Delete(name)
		}
	}()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ino, err := netns.Inode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	c, err := nlclient.Dial(nlclient.Target{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	kind := linkKind(t, c)
	seen := func(w *probe.Writer) bool { return w.NetNS == ino && w.Op == probe.Register }
	for i := 0; !slices.ContainsFunc(r.coll.Writers(), seen); i++ {
		if i == 50 {
			t.Fatalf("no device registration seen in a namespace made after the probe opened (listening in %v)", probe.Listening(r.p))
		}
		name := fmt.Sprintf("f%d", i)
		if _, err := addLink(c, kind, name); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.Close()
	if err := netns.Delete(name); err != nil {
		t.Fatal(err)
	}
	deleted = true
	for i := 0; slices.Contains(probe.Listening(r.p), ino); i++ {
		if i == 50 {
			t.Fatal("still listening in a deleted namespace 5 s later: its socket keeps it alive")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Letting go is no error (a nil one crashed nltrace watch).
	for _, err := range r.p.TakeFollowErrors() {
		if err == nil {
			t.Error("a nil error among the namespaces not listened in")
		}
	}
}
