package monitor

import (
	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

// KernelWriter is the counter bump the notification stands for, when it
// names no requester (nil otherwise). Many requests' notifications name
// none either: IPv6 addresses' never do, links' only with NLM_F_ECHO on
// 6.3+ (docs/monitor.md). That is why a join uses these only for bumps
// no request accounts for (correlate's writerLookup.notified). inode is the namespace's.
func (e Event) KernelWriter(inode uint64) *probe.Writer {
	if e.PortID != 0 {
		return nil
	}
	w := &probe.Writer{Time: uint64(e.MonoNS), NetNS: inode, Ifindex: e.Ifindex, Ifname: e.Ifname,
		Comm: "kernel", Notified: true, Context: probe.ContextUnknown}
	if e.Prefix.IsValid() {
		w.Addr, w.PrefixLen = e.Prefix.Addr(), e.Prefix.Bits()
	}
	ops := map[nlclient.Kind]map[Action]probe.Op{
		nlclient.Link:    {New: probe.Register, Del: probe.Unregister},
		nlclient.Addr4:   {New: probe.Addr4Add, Del: probe.Addr4Del},
		nlclient.Addr6:   {New: probe.Addr6New, Del: probe.Addr6Del},
		nlclient.Nexthop: {New: probe.NexthopNew, Del: probe.NexthopDel},
	}[e.Kind]
	op, ok := ops[e.Action]
	if !ok {
		return nil
	}
	w.Op = op
	w.Counter = map[nlclient.Kind]probe.Counter{
		nlclient.Link: probe.DevBaseSeq, nlclient.Addr4: probe.AddrGenID4,
		nlclient.Addr6: probe.AddrGenID6, nlclient.Nexthop: probe.NexthopSeq,
	}[e.Kind]
	return w
}
