package monitor

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/nltrace/nltrace/internal/testenv"
	"github.com/nltrace/nltrace/nlclient"
)

// TestRootMonitorOverrun stalls the reader over a burst far larger than a
// tiny receive buffer holds (deleting a device takes its 300 addresses and
// their routes with it, in one request): the overrun is reported with the number of
// notifications lost, every table is dumped again, and the monitor goes
// on.
func TestRootMonitorOverrun(t *testing.T) {
	path := testenv.NetNS(t)
	c := dial(t, path)
	must(t, c.AddLink("ov0", "veth", "ov1"))
	ov0 := index(t, c, "ov0")
	const addrs = 300
	for i := range addrs {
		must(t, c.AddAddr(ov0, netip.MustParsePrefix(fmt.Sprintf("10.20.%d.%d/32", i/250, i%250+1))))
	}
	kinds := []nlclient.Kind{nlclient.Link, nlclient.Addr4, nlclient.Route4}
	mon := start(t, Config{Target: nlclient.Target{Path: path}, Kinds: kinds, RcvBuf: 1})
	mon.hold.Lock()
	must(t, c.DeleteLink(ov0))
	mon.hold.Unlock()
	ov := mon.waitFor(t, "an overrun", func(e Event) bool { return e.Action == Overrun })
	diagErr := netlinkDiag()
	switch {
	case diagErr == nil && ov.Lost <= 0:
		t.Errorf("overrun: lost %d, want a count", ov.Lost)
	case diagErr != nil && ov.Lost != -1:
		t.Errorf("overrun without netlink_diag (%v): lost %d, want -1 (unknown)", diagErr, ov.Lost)
	}
	resynced := map[nlclient.Kind]int{}
	for _, k := range kinds {
		e := mon.waitFor(t, "a resync of "+k.String(), func(e Event) bool { return e.Action == Resync && e.Kind == k })
		resynced[k] = e.Objects
	}
	// Only lo is left, down: no address, no route.
	if resynced[nlclient.Link] != 1 || resynced[nlclient.Addr4] != 0 || resynced[nlclient.Route4] != 0 {
		t.Errorf("resync counts %v, want 1 link (lo), no address, no route", resynced)
	}
	// The monitor goes on: it reports the new link or, when a slow machine
	// overruns the tiny buffer again, a resync that counts it.
	must(t, c.AddLink("after0", "veth", "after1"))
	mon.waitFor(t, "link new after0, or a resync that counts it", func(e Event) bool {
		return e.Kind == nlclient.Link && e.Ifname == "after0" || e.Action == Resync && e.Kind == nlclient.Link && e.Objects == 3
	})
	events := mon.stop(t)
	s := mon.Stats()
	var lost int64
	var deleted int
	for _, e := range events {
		switch {
		case e.Action == Overrun:
			lost += e.Lost
		case e.Action == Del && (e.Kind == nlclient.Addr4 || e.Kind == nlclient.Route4):
			deleted++
		}
	}
	if s.Overruns == 0 || s.Resyncs < int64(len(kinds)) {
		t.Errorf("stats %+v: want an overrun and a resync of every kind", s)
	}
	t.Logf("%d deletions seen, %d lost in %d overruns (stats: %+v), receive buffer %d bytes", deleted, lost, s.Overruns, s, mon.RcvBuf())
	if diagErr == nil {
		// Every address and its local route went: what was not seen was
		// counted lost (drops after the last ENOBUFS only in Stats).
		if int64(deleted)+s.Lost < 2*addrs {
			t.Errorf("%d deletions seen + %d lost < %d made", deleted, s.Lost, 2*addrs)
		}
		if s.Lost < lost {
			t.Errorf("stats lost %d < %d reported in events", s.Lost, lost)
		}
	}
}

// TestRootMonitorAllNetNS watches one namespace with NETLINK_LISTEN_ALL_NSID:
// the changes of another namespace that has an id there arrive with that id,
// its name, its device names, and the writer, looked up in that namespace.
func TestRootMonitorAllNetNS(t *testing.T) {
	a, b := testenv.NetNS(t), testenv.NetNS(t)
	id := setNSID(t, a, b)
	mon := start(t, Config{Target: nlclient.Target{Path: a}, AllNetNS: true, Kinds: []nlclient.Kind{nlclient.Link, nlclient.Addr4}})
	ca, cb := dial(t, a), dial(t, b)
	must(t, cb.AddLink("bv0", "veth", "bv1"))
	must(t, cb.AddAddr(index(t, cb, "bv0"), netip.MustParsePrefix("10.30.0.1/24")))
	must(t, ca.AddLink("av0", "veth", "av1"))

	link := mon.waitFor(t, "link new bv0", func(e Event) bool { return e.Kind == nlclient.Link && e.Ifname == "bv0" })
	addr := mon.waitFor(t, "addr4 new 10.30.0.1/24", func(e Event) bool { return e.Kind == nlclient.Addr4 && e.Prefix.String() == "10.30.0.1/24" })
	own := mon.waitFor(t, "link new av0", func(e Event) bool { return e.Kind == nlclient.Link && e.Ifname == "av0" })
	for _, e := range []Event{link, addr} {
		if e.NetNSID != id || e.NetNS != filepath.Base(b) {
			t.Errorf("%s: nsid %d (%q), want %d (%s)", e, e.NetNSID, e.NetNS, id, filepath.Base(b))
		}
	}
	if addr.Ifname != "bv0" {
		t.Errorf("%s: device %q, want bv0 (a name in the other namespace)", addr, addr.Ifname)
	}
	if own.NetNSID != NSIDCurrent || own.NetNS != "" {
		t.Errorf("%s: nsid %d (%q), want the monitored namespace's (%d)", own, own.NetNSID, own.NetNS, NSIDCurrent)
	}
	testenv.Need(t, "netlink_diag", netlinkDiag())
	if addr.PID != os.Getpid() {
		t.Errorf("%s: writer %q, want this process (%d): its socket is in the other namespace", addr, addr.Writer(), os.Getpid())
	}
}
