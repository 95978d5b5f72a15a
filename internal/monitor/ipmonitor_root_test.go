package monitor

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nltrace/nltrace/internal/testenv"
	"github.com/nltrace/nltrace/nlclient"
)

// TestRootMonitorAgreesWithIPMonitor runs iproute2's `ip monitor` beside
// the monitor over changes of every kind, made by this test's process and
// by an `ip -batch` process, and compares the events both saw between two
// marker changes: kind, action and device must agree one for one. The
// writers must be named.
func TestRootMonitorAgreesWithIPMonitor(t *testing.T) {
	testenv.Need(t, "iproute2", iproute2())
	testenv.Need(t, "netlink_diag", netlinkDiag())
	path := testenv.NetNS(t)
	c := dial(t, path)
	must(t, c.SetLinkUp(1, true)) // blackhole nexthops need lo up
	mon := start(t, Config{Target: nlclient.Target{Path: path}})
	ip := startIPMonitor(t, filepath.Base(path))

	first := marker(t, c, mon, ip)
	must(t, c.AddLink("mv0", "veth", "mv1"))
	mv0, mv1 := index(t, c, "mv0"), index(t, c, "mv1")
	must(t, c.SetLinkUp(mv0, true))
	must(t, c.SetLinkUp(mv1, true))
	must(t, c.AddAddr(mv0, netip.MustParsePrefix("10.7.0.1/24")))
	must(t, c.AddAddr(mv0, netip.MustParsePrefix("fd00:7::1/64")))
	must(t, c.AddNexthop(7))
	batch := ipBatch(t, filepath.Base(path),
		"route add 10.8.0.0/16 via 10.7.0.2 dev mv0",
		"route add fd00:8::/64 dev mv0",
		"neigh add 10.7.0.9 lladdr 02:00:00:00:00:09 dev mv0",
		"nexthop add id 8 via 10.7.0.2 dev mv0",
		"addr add 10.7.1.1/24 dev mv1",
		"nexthop del id 8",
		"neigh del 10.7.0.9 dev mv0",
		"route del 10.8.0.0/16",
	)
	// ip(8) stays alive until its input ends, so that it can be named.
	mon.waitFor(t, "route4 del 10.8.0.0/16", func(e Event) bool {
		return e.Kind == nlclient.Route4 && e.Action == Del && e.Prefix == netip.MustParsePrefix("10.8.0.0/16")
	})
	batch.done()
	must(t, c.DeleteNexthop(7))
	must(t, c.DeleteLink(mv0))
	last := marker(t, c, mon, ip)

	ours := between(mon.stop(t), first, last)
	theirs := ip.between(first, last)
	got, want := map[string]int{}, map[string]int{}
	for _, e := range ours {
		got[e.compareKey()]++
	}
	for _, l := range theirs {
		want[ipKey(t, l)]++
	}
	t.Logf("%d events between the markers, %d lines of ip monitor", len(ours), len(theirs))
	if !maps.Equal(got, want) {
		for _, k := range slices.Sorted(maps.Keys(union(got, want))) {
			if got[k] != want[k] {
				t.Errorf("%-40s monitor %d, ip monitor %d", k, got[k], want[k])
			}
		}
		t.Logf("monitor:\n%s\nip monitor:\n%s", lines(ours), strings.Join(theirs, "\n"))
	}
	kinds := map[nlclient.Kind]map[Action]bool{}
	for _, e := range ours {
		if kinds[e.Kind] == nil {
			kinds[e.Kind] = map[Action]bool{}
		}
		kinds[e.Kind][e.Action] = true
	}
	for _, k := range Kinds {
		if !kinds[k][New] || !kinds[k][Del] {
			t.Errorf("%v: actions %v, want new and del", k, kinds[k])
		}
	}

	// The writers: this process for its own changes, ip for the batch's.
	// IPv6 addresses are left out: the kernel announces them without the
	// requester's port id.
	self := func(e Event) bool { return e.PID == os.Getpid() }
	byIP := func(e Event) bool { return e.PID == batch.pid && e.Comm == "ip" }
	for _, w := range []struct {
		what   string
		match  func(Event) bool
		writer func(Event) bool
	}{
		{"addr4 new 10.7.0.1/24", func(e Event) bool {
			return e.Kind == nlclient.Addr4 && e.Action == New && e.Prefix.String() == "10.7.0.1/24"
		}, self},
		{"nexthop new id 7", func(e Event) bool { return e.Kind == nlclient.Nexthop && e.Action == New && e.ID == 7 }, self},
		{"route4 new 10.8.0.0/16", func(e Event) bool {
			return e.Kind == nlclient.Route4 && e.Action == New && e.Prefix.String() == "10.8.0.0/16"
		}, byIP},
		{"route6 new fd00:8::/64", func(e Event) bool {
			return e.Kind == nlclient.Route6 && e.Action == New && e.Prefix.String() == "fd00:8::/64"
		}, byIP},
		{"neigh new 10.7.0.9", func(e Event) bool {
			return e.Kind == nlclient.Neigh && e.Action == New && e.Prefix.Addr().String() == "10.7.0.9"
		}, byIP},
		{"nexthop new id 8", func(e Event) bool { return e.Kind == nlclient.Nexthop && e.Action == New && e.ID == 8 }, byIP},
		{"addr4 new 10.7.1.1/24", func(e Event) bool {
			return e.Kind == nlclient.Addr4 && e.Action == New && e.Prefix.String() == "10.7.1.1/24"
		}, byIP},
	} {
		i := slices.IndexFunc(ours, w.match)
		switch {
		case i < 0:
			t.Errorf("no %s event", w.what)
		case !w.writer(ours[i]):
			t.Errorf("%s: writer %q (port %d), want this process (%d) or ip (%d)", w.what, ours[i].Writer(), ours[i].PortID, os.Getpid(), batch.pid)
		}
	}
}

// compareKey is what ip monitor shows of an event too: kind, new or del
// (ip prints a changed link as any other), device.
func (e Event) compareKey() string {
	action := e.Action
	if action == Changed {
		action = New
	}
	dev := ""
	if e.Ifindex != 0 {
		dev = e.device()
	}
	return fmt.Sprintf("%v %s %s", e.Kind, action, dev)
}

func union(a, b map[string]int) map[string]int {
	u := maps.Clone(a)
	for k, v := range b {
		u[k] += v
	}
	return u
}

var (
	ipLink  = regexp.MustCompile(`^\d+: ([^:@ ]+)[@:]`)
	ipAddr  = regexp.MustCompile(`^\d+: (\S+)\s+(inet6?) `)
	ipDev   = regexp.MustCompile(` dev (\S+)`)
	nudWord = regexp.MustCompile(`(INCOMPLETE|REACHABLE|STALE|DELAY|PROBE|FAILED|NOARP|PERMANENT|NONE)\s*$`)
)

// ipKey reads one line of `ip -o monitor` as compareKey does an event.
func ipKey(t *testing.T, line string) string {
	line, deleted := strings.CutPrefix(line, "Deleted ")
	action := New
	if deleted {
		action = Del
	}
	dev := ""
	if m := ipDev.FindStringSubmatch(line); m != nil {
		dev = m[1]
	}
	var kind nlclient.Kind
	switch m := ipAddr.FindStringSubmatch(line); {
	case m != nil:
		kind, dev = nlclient.Addr4, m[1]
		if m[2] == "inet6" {
			kind = nlclient.Addr6
		}
	case ipLink.MatchString(line):
		kind, dev = nlclient.Link, ipLink.FindStringSubmatch(line)[1]
	case strings.HasPrefix(line, "id "):
		kind = nlclient.Nexthop
	case strings.Contains(line, " lladdr ") || nudWord.MatchString(line):
		kind = nlclient.Neigh
	default:
		kind = nlclient.Route4
		if dst := routeDst(line); strings.Contains(dst, ":") || dst == "default" && strings.Contains(line, ":") {
			kind = nlclient.Route6
		}
	}
	if kind == 0 {
		t.Errorf("ip monitor line %q: unknown kind", line)
	}
	return fmt.Sprintf("%v %s %s", kind, action, dev)
}

// routeDst is a route line's destination, after its type if any.
func routeDst(line string) string {
	f := strings.Fields(line)
	if len(f) > 1 && slices.Contains([]string{"local", "broadcast", "multicast", "anycast", "unreachable", "blackhole", "prohibit", "throw", "unicast", "nat"}, f[0]) {
		return f[1]
	}
	if len(f) > 0 {
		return f[0]
	}
	return ""
}

// ipMonitor is `ip -o monitor` running in a namespace.
type ipMonitor struct {
	mu    sync.Mutex
	lines []string
	wake  chan struct{}
}

func startIPMonitor(t *testing.T, name string) *ipMonitor {
	t.Helper()
	cmd := exec.Command("ip", "-n", name, "-o", "monitor", "link", "address", "route", "neigh", "nexthop")
	out, err := cmd.StdoutPipe()
	must(t, err)
	cmd.Stderr = os.Stderr
	must(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ip := &ipMonitor{wake: make(chan struct{}, 1)}
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			ip.mu.Lock()
			ip.lines = append(ip.lines, strings.TrimSpace(s.Text()))
			ip.mu.Unlock()
			select {
			case ip.wake <- struct{}{}:
			default:
			}
		}
	}()
	return ip
}

func (ip *ipMonitor) snapshot() []string {
	ip.mu.Lock()
	defer ip.mu.Unlock()
	return slices.Clone(ip.lines)
}

// saw waits up to d for a line containing s.
func (ip *ipMonitor) saw(s string, d time.Duration) bool {
	deadline := time.After(d)
	for {
		if slices.ContainsFunc(ip.snapshot(), func(l string) bool { return strings.Contains(l, s) }) {
			return true
		}
		select {
		case <-ip.wake:
		case <-deadline:
			return false
		}
	}
}

// between returns the lines strictly between the two markers' addresses.
func (ip *ipMonitor) between(first, last netip.Prefix) []string {
	all := ip.snapshot()
	isAddr := func(p netip.Prefix) func(string) bool {
		return func(l string) bool { return ipAddr.MatchString(l) && strings.Contains(l, " inet "+p.String()+" ") }
	}
	i, j := slices.IndexFunc(all, isAddr(first)), slices.IndexFunc(all, isAddr(last))
	if i < 0 || j < i {
		return nil
	}
	return all[i+1 : j]
}

// between returns the events strictly between the two markers' addresses.
func between(events []Event, first, last netip.Prefix) []Event {
	isAddr := func(p netip.Prefix) func(Event) bool {
		return func(e Event) bool { return e.Kind == nlclient.Addr4 && e.Action == New && e.Prefix == p }
	}
	i, j := slices.IndexFunc(events, isAddr(first)), slices.IndexFunc(events, isAddr(last))
	if i < 0 || j < i {
		return nil
	}
	return events[i+1 : j]
}

var markers int

// marker adds an address to lo that both monitors see: the events between
// two markers are comparable. ip monitor gives no sign that it has
// subscribed, so the first marker is repeated until it shows one.
func marker(t *testing.T, c *nlclient.Client, mon *running, ip *ipMonitor) netip.Prefix {
	t.Helper()
	for range 50 {
		markers++
		p := netip.MustParsePrefix(fmt.Sprintf("127.1.0.%d/32", markers))
		must(t, c.AddAddr(1, p))
		if ip.saw(" inet "+p.String()+" ", 300*time.Millisecond) {
			mon.waitFor(t, "marker "+p.String(), func(e Event) bool { return e.Kind == nlclient.Addr4 && e.Prefix == p })
			return p
		}
	}
	t.Fatal("ip monitor printed none of 50 marker addresses")
	return netip.Prefix{}
}

// batch is `ip -batch -` reading commands until done.
type batch struct {
	pid  int
	in   io.WriteCloser
	cmd  *exec.Cmd
	done func()
}

func ipBatch(t *testing.T, name string, commands ...string) *batch {
	t.Helper()
	cmd := exec.Command("ip", "-n", name, "-batch", "-")
	in, err := cmd.StdinPipe()
	must(t, err)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	must(t, cmd.Start())
	b := &batch{pid: cmd.Process.Pid, in: in, cmd: cmd}
	b.done = func() {
		in.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("ip -batch: %v", err)
		}
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	_, err = io.WriteString(in, strings.Join(commands, "\n")+"\n")
	must(t, err)
	return b
}
