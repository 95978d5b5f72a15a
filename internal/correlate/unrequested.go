package correlate

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

// handlerKinds names the table each dump handler lists. The request's
// type alone does not tell IPv4 from IPv6 addresses.
var handlerKinds = map[string]nlclient.Kind{
	"rtnl_dump_ifinfo":  nlclient.Link,
	"rtnl_stats_dump":   nlclient.Stats,
	"inet_dump_ifaddr":  nlclient.Addr4,
	"inet6_dump_ifaddr": nlclient.Addr6,
	"inet_dump_fib":     nlclient.Route4,
	"inet6_dump_fib":    nlclient.Route6,
	"neigh_dump_info":   nlclient.Neigh,
	"rtm_dump_nexthop":  nlclient.Nexthop,
}

// requestKinds are the kinds one request type always lists.
var requestKinds = map[uint16]nlclient.Kind{
	unix.RTM_GETLINK:    nlclient.Link,
	unix.RTM_GETSTATS:   nlclient.Stats,
	unix.RTM_GETNEIGH:   nlclient.Neigh,
	unix.RTM_GETNEXTHOP: nlclient.Nexthop,
}

// KindOf names the table a chunk's dump lists, from the handler that
// answered or else the request's type; 0 when neither says (an AF_UNSPEC
// address or route dump walks every family in turn).
func KindOf(s *probe.Sample) nlclient.Kind {
	if k, ok := handlerKinds[s.Handler]; ok {
		return k
	}
	return requestKinds[s.MsgType]
}

// resultFrom makes the result a dumper received from the kernel's samples
// of its dump, in order: the flags are the kernel's, the chunks those that
// carried data, and NLMSG_DONE a chunk of its own when the call that
// wrote it added nothing else.
func resultFrom(samples []*probe.Sample) *nlclient.Result {
	r := &nlclient.Result{Attempt: 1}
	if len(samples) == 0 {
		return r
	}
	first, last := samples[0], samples[len(samples)-1]
	r.Kind, r.Seq, r.PortID, r.NetNSInode = KindOf(first), first.Seq, first.PortID, first.NetNS
	r.Duration = time.Duration(last.End - first.Start)
	for _, s := range samples {
		if s.Bytes > 0 {
			r.Chunks = append(r.Chunks, nlclient.Chunk{Index: len(r.Chunks) + 1, Bytes: s.Bytes, Messages: 1,
				Flags: s.FirstFlags, Interrupted: s.Flagged})
			if s.Flagged && r.FirstInterrupted == 0 {
				r.FirstInterrupted = len(r.Chunks)
			}
		}
		r.DoneInterrupted = r.DoneInterrupted || s.DoneFlagged
	}
	if last.Done {
		if last.Bytes > 0 {
			r.Chunks[len(r.Chunks)-1].Done = true
			r.Chunks[len(r.Chunks)-1].Messages++
		} else {
			r.Chunks = append(r.Chunks, nlclient.Chunk{Index: len(r.Chunks) + 1, Messages: 1, Done: true,
				Interrupted: last.DoneFlagged})
		}
	}
	return r
}

// Waiting returns the earliest CLOCK_MONOTONIC start of the dumps not
// joined yet (FromSamples); false when every dump is joined. A caller that needs dumps in the order they
// started holds back those that started later.
func (j *Joiner) Waiting() (uint64, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var oldest uint64
	waiting := false
	for _, p := range j.pending.live() {
		switch {
		case p.joined:
		case len(p.b.samples) == 0:
			return 0, true // a result waiting for samples: no start is known
		case !waiting || p.b.first < oldest:
			oldest, waiting = p.b.first, true
		}
	}
	return oldest, waiting
}
