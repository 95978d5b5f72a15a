//go:build linux

package probe_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/correlate"
	"github.com/nltrace/nltrace/internal/netns"
	"github.com/nltrace/nltrace/internal/testenv"
	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

var backends = []probe.Backend{probe.Fentry, probe.Kprobe, probe.Tracepoint}

// testNetNS creates a namespace removed at the end of the test, and
// returns two clients in it (one dumps, the other changes things from
// the dump's OnChunk) and its inode.
func testNetNS(t testing.TB) (*nlclient.Client, *nlclient.Client, uint64) {
	t.Helper()
	cs, inode := testNetNSClients(t, 2)
	return cs[0], cs[1], inode
}

func testNetNSClients(t testing.TB, n int) ([]*nlclient.Client, uint64) {
	t.Helper()
	path, inode := newNetNS(t)
	var err error
	cs := make([]*nlclient.Client, n)
	for i := range cs {
		if cs[i], err = nlclient.Dial(nlclient.Target{Path: path}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cs[i].Close() })
	}
	return cs, inode
}

// newNetNS creates a namespace removed at the end of the test and
// returns its path and inode.
func newNetNS(t testing.TB) (string, uint64) {
	t.Helper()
	testenv.Root(t)
	b := make([]byte, 4)
	rand.Read(b)
	name := "nltrace-probe-" + hex.EncodeToString(b)
	path, err := netns.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := netns.Delete(name); err != nil {
			t.Error(err)
		}
	})
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inode, err := netns.Inode(f)
	if err != nil {
		t.Fatal(err)
	}
	return path, inode
}

// addLinks adds n links, so that a link dump takes several chunks: dummy
// devices, or veth pairs (named alike) where the kernel has no dummy
// driver, as on the project's CI host.
func addLinks(t testing.TB, c *nlclient.Client, prefix string, n int) {
	t.Helper()
	kind := linkKind(t, c)
	for i := 0; i < n; i++ {
		name, peer := fmt.Sprintf("%s%d", prefix, i), ""
		if kind == "veth" {
			i++
			peer = fmt.Sprintf("%s%d", prefix, i)
		}
		if err := c.AddLink(name, kind, peer); err != nil {
			t.Fatal(err)
		}
	}
}

// linkKind returns "dummy" where the kernel has it, else "veth".
func linkKind(t testing.TB, c *nlclient.Client) string {
	t.Helper()
	err := c.AddLink("nltrace-kind", "dummy", "")
	if err == nil {
		if idx, err := c.LinkIndex("nltrace-kind"); err == nil {
			err = c.DeleteLink(idx)
		}
		if err != nil {
			t.Fatal(err)
		}
		return "dummy"
	}
	if !errors.Is(err, unix.EOPNOTSUPP) && !strings.Contains(err.Error(), "Unknown device type") {
		t.Fatal(err)
	}
	return "veth"
}

// addLink adds one link of the kind the kernel has, and returns how many
// devices that registered.
func addLink(c *nlclient.Client, kind, name string) (int, error) {
	if kind == "veth" {
		return 2, c.AddLink(name, kind, name+"p")
	}
	return 1, c.AddLink(name, kind, "")
}

// recorder collects a probe's events until stopped, as a run does.
type recorder struct {
	p      *probe.Probe
	cancel context.CancelFunc
	wg     sync.WaitGroup
	err    error
	coll   correlate.Collector
}

// openProbe opens the probe, closed at the end of the test. It skips (or
// fails, where NLTRACE_REQUIRE names the backend) only when the kernel
// cannot trace; any other error, a program the verifier rejects above all,
// fails the test wherever it runs.
func openProbe(tb testing.TB, cfg probe.Config) *probe.Probe {
	tb.Helper()
	p, err := probe.Open(cfg)
	if err != nil && !errors.Is(err, probe.ErrUnavailable) {
		tb.Fatalf("open the %v probe: %v", cfg.Backend, err)
	}
	testenv.Need(tb, cfg.Backend.String(), err)
	tb.Cleanup(func() { p.Close() })
	return p
}

func record(t *testing.T, b probe.Backend, cfg probe.Config) *recorder {
	t.Helper()
	cfg.Backend = b
	p := openProbe(t, cfg)
	if p.Backend != b {
		t.Fatalf("backend %v, want %v", p.Backend, b)
	}
	for _, s := range p.Skipped {
		t.Logf("skipped hook: %v", s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &recorder{p: p, cancel: cancel}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.err = p.Run(ctx, r.coll.Event)
	}()
	return r
}

func (r *recorder) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	r.wg.Wait()
	if r.err != nil {
		t.Fatalf("read events: %v", r.err)
	}
	drops, err := r.p.Drops()
	if err != nil {
		t.Fatal(err)
	}
	if drops != 0 {
		t.Errorf("%d events dropped", drops)
	}
}

// waitWriter waits until a writer event matching ok arrives: some
// bumps happen later, in a worker (IPv6 duplicate address detection
// completes in one even with IFA_F_NODAD).
func (r *recorder) waitWriter(ok func(*probe.Writer) bool) error {
	return r.waitWriters(ok, 1)
}

// waitWriters waits for n writer events matching ok.
func (r *recorder) waitWriters(ok func(*probe.Writer) bool, n int) error {
	for range 3000 {
		found := 0
		for _, w := range r.coll.Writers() {
			if ok(w) {
				found++
			}
		}
		if found >= n {
			time.Sleep(10 * time.Millisecond) // the bump ends the traced function
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("fewer than %d writer events within 30s", n)
}

// chunksOf returns the kernel's samples of one dump, in order.
func (r *recorder) chunksOf(res *nlclient.Result) []*probe.Sample {
	var out []*probe.Sample
	for _, c := range r.coll.Samples() {
		if c.DumpKey() == (probe.DumpKey{NetNS: res.NetNSInode, PortID: res.PortID, Seq: res.Seq}) {
			out = append(out, c)
		}
	}
	return out
}

func TestOpen(t *testing.T) {
	testenv.Root(t)
	for _, b := range backends {
		t.Run(b.String(), func(t *testing.T) {
			p := openProbe(t, probe.Config{Backend: b, Stacks: true})
			for _, s := range p.Skipped {
				t.Errorf("skipped hook: %v", s)
			}
		})
	}
}

// injection is one change made at a known point of a dump.
type injection struct {
	name    string
	kind    nlclient.Kind
	setup   func(t *testing.T, c *nlclient.Client)
	inject  func(c *nlclient.Client, linkKind string) error
	async   bool // the bump happens later, in a worker
	settle  func(r *recorder) error
	op      probe.Op
	subject string
	counter probe.Counter
	handler string
}

var injections = []injection{{
	name: "link", kind: nlclient.Link,
	setup:  func(t *testing.T, c *nlclient.Client) { addLinks(t, c, "d", 150) },
	inject: func(c *nlclient.Client, kind string) error { _, err := addLink(c, kind, "nltrace-inj"); return err },
	op:     probe.Register, subject: "nltrace-inj", counter: probe.DevBaseSeq, handler: "rtnl_dump_ifinfo",
}, {
	name: "addr4", kind: nlclient.Addr4,
	setup:  func(t *testing.T, c *nlclient.Client) { addAddrs(t, c, "10.0.0.0", 800) },
	inject: func(c *nlclient.Client, _ string) error { return c.AddAddr(1, netip.MustParsePrefix("10.9.9.9/32")) },
	op:     probe.Addr4Add, subject: "10.9.9.9/32 on lo", counter: probe.AddrGenID4, handler: "inet_dump_ifaddr",
}, {
	name: "addr6", kind: nlclient.Addr6,
	setup: func(t *testing.T, c *nlclient.Client) { addAddrs(t, c, "2001:db8::", 600) },
	// Each address completes duplicate address detection later, in a
	// worker: wait for all 600 before dumping.
	settle: func(r *recorder) error {
		return r.waitWriters(func(w *probe.Writer) bool { return w.Op == probe.Addr6New && w.Worker }, 600)
	},
	inject: func(c *nlclient.Client, _ string) error {
		return c.AddAddr(1, netip.MustParsePrefix("2001:db8:9::9/128"))
	},
	async: true,
	op:    probe.Addr6New, subject: "2001:db8:9::9/128 on lo", counter: probe.AddrGenID6, handler: "inet6_dump_ifaddr",
}, {
	name: "nexthop", kind: nlclient.Nexthop,
	setup: func(t *testing.T, c *nlclient.Client) {
		if err := c.SetLinkUp(1, true); err != nil { // blackhole nexthops use lo
			t.Fatal(err)
		}
		for id := range uint32(2000) {
			if err := c.AddNexthop(id + 1); err != nil {
				t.Fatal(err)
			}
		}
	},
	inject: func(c *nlclient.Client, _ string) error { return c.AddNexthop(99999) },
	op:     probe.NexthopNew, counter: probe.NexthopSeq, handler: "rtm_dump_nexthop",
}}

// addAddrs adds n consecutive host addresses to lo, brought up first.
func addAddrs(t *testing.T, c *nlclient.Client, first string, n int) {
	t.Helper()
	if err := c.SetLinkUp(1, true); err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr(first)
	for range n {
		a = a.Next()
		if err := c.AddAddr(1, netip.PrefixFrom(a, a.BitLen())); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMoveLink moves a device between two namespaces and checks that
// both sides record it as a move, each in its own namespace.
func TestMoveLink(t *testing.T) {
	for _, b := range backends {
		t.Run(b.String(), func(t *testing.T) {
			from, _, fromIno := testNetNS(t)
			toPath, toIno := newNetNS(t)
			addLinks(t, from, "m", 1)
			r := record(t, b, probe.Config{})
			idx, err := from.LinkIndex("m0")
			if err != nil {
				t.Fatal(err)
			}
			toFD, err := os.Open(toPath)
			if err != nil {
				t.Fatal(err)
			}
			defer toFD.Close()
			if err := from.MoveLink(idx, int(toFD.Fd())); err != nil {
				t.Fatal(err)
			}
			r.stop(t)
			var out, in int
			for _, w := range r.coll.Writers() {
				switch {
				case w.Ifname != "m0" || w.Counter != probe.DevBaseSeq:
				case w.Op == probe.MoveOut && w.NetNS == fromIno:
					out++
				case w.Op == probe.MoveIn && w.NetNS == toIno:
					in++
				default:
					t.Errorf("unexpected event %v in netns %d", w, w.NetNS)
				}
			}
			wantIn := 1
			if r.p.Hooks == probe.SyscallHooks {
				wantIn = 0 // a bump outside the requesting socket's namespace (Probe.Limits)
			}
			if out != 1 || in != wantIn {
				t.Errorf("moved out %d times, in %d times; want out once, in %d times", out, in, wantIn)
			}
		})
	}
}

// TestInject makes one change right after chunk 1 of a dump and checks
// that the kernel's samples agree with what userspace received, and that
// the explanation names exactly that change, its counter and the chunks.
func TestInject(t *testing.T) {
	for _, b := range backends {
		for _, in := range injections {
			t.Run(b.String()+"/"+in.name, func(t *testing.T) {
				c, mod, inode := testNetNS(t)
				kind := linkKind(t, mod)
				// Attached first, so that a missing backend skips at once.
				r := record(t, b, probe.Config{NetNS: inode, Stacks: true})
				if in.async && r.p.Hooks == probe.SyscallHooks {
					r.stop(t)
					t.Skip("its bump is a kernel worker's, which syscalls do not show (Probe.Limits)")
				}
				in.setup(t, mod)
				if in.settle != nil {
					if err := in.settle(r); err != nil {
						t.Fatal(err)
					}
				}
				res, err := c.Dump(context.Background(), in.kind, nlclient.Options{OnChunk: func(ch nlclient.Chunk) error {
					if ch.Index != 1 {
						return nil
					}
					if err := in.inject(mod, kind); err != nil || !in.async {
						return err
					}
					return r.waitWriter(func(w *probe.Writer) bool { return w.Op == in.op && w.Subject() == in.subject })
				}})
				if err != nil {
					t.Fatal(err)
				}
				r.stop(t)
				if len(res.Chunks) < 3 {
					t.Fatalf("dump took %d chunks, want at least 3", len(res.Chunks))
				}
				if !res.Interrupted() {
					t.Fatalf("dump not interrupted: %+v", res.Chunks)
				}
				handler := in.handler
				if r.p.Hooks == probe.SyscallHooks {
					handler = "" // it sees syscalls, not handlers
				}
				checkChunks(t, res, r.chunksOf(res), handler)

				dumps := correlate.Join([]*nlclient.Result{res}, r.coll.Samples(), r.coll.Writers())
				d := dumps[0]
				if !d.Explained() || len(d.Interruptions) != 1 {
					t.Fatalf("want one explained interruption, got %v", d.Interruptions)
				}
				x := d.Interruptions[0]
				t.Logf("%v", x)
				if x.Chunk != res.FirstInterrupted || x.After != x.Chunk-1 {
					t.Errorf("explained chunk %d after %d, userspace saw chunk %d flagged", x.Chunk, x.After, res.FirstInterrupted)
				}
				// A veth pair is two devices: two bumps, and the fentry and
				// kprobe backends name each (the peer is "...p").
				named := 0
				for _, w := range x.Writers {
					if w.Op != in.op {
						t.Errorf("writer %v, want %v", w, in.op)
					}
					if w.Subject() == in.subject {
						named++
					}
				}
				if named == 0 || len(x.Writers) > 2 {
					t.Fatalf("writers %v, want %v %s (and its veth peer)", x.Writers, in.op, in.subject)
				}
				var moved bool
				for _, m := range x.Moves {
					if m.Counter == in.counter && int(m.Delta()) == len(x.Writers) {
						moved = true
					}
				}
				if !moved {
					t.Errorf("moves %v, want %v +%d", x.Moves, in.counter, len(x.Writers))
				}
				if w := x.Writers[0]; w.Context != probe.ContextTask || w.Worker != in.async {
					t.Errorf("writer ran in %v (worker %v), want a task (worker %v)", w.Context, w.Worker, in.async)
				}
				// A hash collision in the stack map is a limit of
				// bpf_get_stackid, not a bug: any other reason is. The
				// tracepoint backend records none (Probe.Limits).
				w := x.Writers[0]
				switch {
				case b == probe.Tracepoint:
				case len(w.Stack) == 0 && w.StackError != unix.EEXIST.Error():
					t.Errorf("writer event has no stack: %s", w.StackError)
				default:
					t.Logf("stack %v", w.Stack[:min(4, len(w.Stack))])
				}
			})
		}
	}
}

// checkChunks matches the kernel's samples of a dump to the datagrams
// userspace read: same count of non-empty chunks, same first-header flags.
func checkChunks(t *testing.T, res *nlclient.Result, kernel []*probe.Sample, handler string) {
	t.Helper()
	var data []*probe.Sample
	for _, k := range kernel {
		if k.Bytes > 0 {
			data = append(data, k)
		}
	}
	var user []nlclient.Chunk
	for _, u := range res.Chunks {
		if !(u.Done && u.Messages == 1) {
			user = append(user, u)
		}
	}
	if len(data) != len(user) {
		for _, k := range kernel {
			t.Logf("kernel: %+v", *k)
		}
		t.Fatalf("kernel built %d non-empty chunks, userspace read %d", len(data), len(user))
	}
	for i, u := range user {
		k := data[i]
		if k.FirstFlags != u.Flags || k.Flagged != u.Interrupted {
			t.Errorf("chunk %d: kernel flags %#x (flagged %v), userspace %#x (interrupted %v)", u.Index, k.FirstFlags, k.Flagged, u.Flags, u.Interrupted)
		}
		if k.Handler != handler {
			t.Errorf("chunk %d: handler %q, want %s", u.Index, k.Handler, handler)
		}
	}
	last := kernel[len(kernel)-1]
	if !last.Done || last.DoneFlagged != res.DoneInterrupted {
		t.Errorf("last sample %+v: want done, done flag %v", *last, res.DoneInterrupted)
	}
}

// TestFilters checks that the in-kernel filters keep exactly the dumps
// of the chosen namespace and process.
func TestFilters(t *testing.T) {
	for _, b := range backends {
		t.Run(b.String(), func(t *testing.T) {
			c, _, inode := testNetNS(t)
			_, other := newNetNS(t)
			pid := uint32(os.Getpid())
			for _, tt := range []struct {
				name string
				cfg  probe.Config
				want bool
			}{
				{"netns", probe.Config{NetNS: inode}, true},
				{"other netns", probe.Config{NetNS: other}, false},
				{"pid", probe.Config{NetNS: inode, PID: pid}, true},
				{"other pid", probe.Config{NetNS: inode, PID: pid + 1}, false},
			} {
				r := record(t, b, tt.cfg)
				res, err := c.Dump(context.Background(), nlclient.Link, nlclient.Options{})
				if err != nil {
					t.Fatal(err)
				}
				r.stop(t)
				r.p.Close()
				if got := len(r.chunksOf(res)) > 0; got != tt.want {
					t.Errorf("%s: dump recorded %v, want %v", tt.name, got, tt.want)
				}
			}
		})
	}
}

// TestIoctlWriter sets an IPv4 address the way ifconfig does (SIOCSIFADDR
// on a socket of the namespace) and checks that every backend records
// the bump with its device.
func TestIoctlWriter(t *testing.T) {
	for _, b := range backends {
		t.Run(b.String(), func(t *testing.T) {
			path, inode := newNetNS(t)
			c, err := nlclient.Dial(nlclient.Target{Path: path})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.SetLinkUp(1, true); err != nil {
				t.Fatal(err)
			}
			r := record(t, b, probe.Config{NetNS: inode})
			err = netns.Do(path, func() error {
				fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
				if err != nil {
					return err
				}
				defer unix.Close(fd)
				ifr, err := unix.NewIfreq("lo")
				if err != nil {
					return err
				}
				if err := ifr.SetInet4Addr([]byte{10, 7, 7, 7}); err != nil {
					return err
				}
				return unix.IoctlIfreq(fd, unix.SIOCSIFADDR, ifr)
			})
			if err != nil {
				t.Fatalf("SIOCSIFADDR: %v", err)
			}
			if err := r.waitWriter(func(w *probe.Writer) bool {
				return w.Op == probe.Addr4Add && w.Counter == probe.AddrGenID4 && w.Ifname == "lo"
			}); err != nil {
				for _, w := range r.coll.Writers() {
					t.Logf("writer %v", w)
				}
				t.Fatal(err)
			}
			r.stop(t)
		})
	}
}
