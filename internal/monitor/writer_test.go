package monitor

import (
	"net/netip"
	"testing"

	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

// TestEventKernelWriter checks which notifications stand for a bump the
// kernel made by itself.
func TestEventKernelWriter(t *testing.T) {
	dad := Event{MonoNS: 5, Kind: nlclient.Addr6, Action: New, Ifindex: 2, Ifname: "st-0",
		Prefix: netip.MustParsePrefix("fd00::1/128")}
	w := dad.KernelWriter(42)
	if w == nil || !w.Notified || w.Op != probe.Addr6New || w.Counter != probe.AddrGenID6 || w.NetNS != 42 ||
		w.Time != 5 || w.Subject() != "fd00::1/128 on st-0" {
		t.Errorf("DAD completion: %+v", w)
	}
	for _, e := range []Event{
		{Kind: nlclient.Addr6, Action: New, PortID: 77},  // a request: the probe saw it
		{Kind: nlclient.Link, Action: Changed},           // up, down, renamed: no counter
		{Kind: nlclient.Route4, Action: New},             // routes never flag
		{Kind: nlclient.Addr4, Action: Overrun, Lost: 3}, // not a change
	} {
		if w := e.KernelWriter(42); w != nil {
			t.Errorf("%v %v port %d: %v, want none", e.Kind, e.Action, e.PortID, w)
		}
	}
	if w := (Event{Kind: nlclient.Link, Action: Del, Ifname: "veth0"}).KernelWriter(42); w == nil || w.Op != probe.Unregister || w.Counter != probe.DevBaseSeq {
		t.Errorf("device gone with no requester: %+v", w)
	}
}
