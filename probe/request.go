package probe

import (
	"net/netip"
	"strconv"

	"golang.org/x/sys/unix"
)

// request is one rtnetlink change request seen by the tracepoint backend:
// the counters of its socket's namespace when the syscall began and ended.
type request struct {
	e syscallRequestEvent
}

// maxBumps bounds the writers one request turns into: a request that
// seems to have bumped more is one whose window other writers shared.
const maxBumps = 64

// claims hands each bump of a counter to one request: the first to
// return whose window holds it. Requests that change devices and
// addresses run one at a time under RTNL, but a device deletion returns
// long after its bumps (it waits for the device's users to let go), so
// later requests often return first: each takes only the values nobody
// took yet. Values far behind the newest are forgotten.
type claims map[claimKey]*claimSet

type claimKey struct {
	netns   uint64
	counter Counter
}

type claimSet struct {
	taken  map[uint32]bool
	newest uint32
}

// claimMemory is how many values a counter remembers handing out; a
// request never spans that many.
const claimMemory = 4096

func (s *claimSet) take(v uint32) bool {
	if s.taken[v] {
		return false
	}
	s.taken[v] = true
	if int32(v-s.newest) > 0 {
		s.newest = v
	}
	if len(s.taken) > 2*claimMemory {
		for old := range s.taken {
			if s.newest-old > claimMemory {
				delete(s.taken, old)
			}
		}
	}
	return true
}

// writers turns a request into one Writer per bump it made, in the form
// the fentry backend reports them, so that correlate joins them unchanged.
func (c claims) writers(r *request) []*Writer {
	var out []*Writer
	for i, counter := range []Counter{DevBaseSeq, AddrGenID4, AddrGenID6, NexthopSeq} {
		from, to := r.e.Before[i], r.e.After[i]
		if int32(to-from) <= 0 {
			continue
		}
		if to-from > maxBumps {
			from = to - maxBumps
		}
		k := claimKey{r.e.Netns, counter}
		s := c[k]
		if s == nil {
			s = &claimSet{taken: map[uint32]bool{}}
			c[k] = s
		}
		for v := from; v != to; v++ {
			if s.take(v) {
				w := r.writer(counter)
				w.Before = v
				out = append(out, w)
			}
		}
	}
	return out
}

func (r *request) writer(c Counter) *Writer {
	e := &r.e
	w := &Writer{
		Time: e.TsExit, Op: r.op(c), Counter: c, NetNS: e.Netns,
		Ifindex: e.Ifindex, Ifname: cstring(e.Ifname[:]), PrefixLen: int(e.Prefixlen),
		PID: e.Pid, TID: e.Tid, Comm: cstring(e.Comm[:]), Worker: e.TaskFlags&pfKworker != 0,
		Context: ContextTask, Request: rtmName(e.MsgType),
	}
	if e.HasAddr != 0 {
		if e.Family == unix.AF_INET6 {
			w.Addr = netip.AddrFrom16(e.Addr)
		} else {
			w.Addr = netip.AddrFrom4([4]byte(e.Addr[:4]))
		}
	}
	return w
}

// op says what the request did to the counter, in the fentry backend's
// terms: which kernel function bumped it is not seen, only the request.
func (r *request) op(c Counter) Op {
	t := r.e.MsgType
	switch c {
	case DevBaseSeq:
		switch {
		case t == unix.RTM_DELLINK:
			return Unregister
		case t == unix.RTM_NEWLINK && r.e.NlFlags&unix.NLM_F_CREATE != 0:
			return Register
		case t == unix.RTM_NEWLINK || t == unix.RTM_SETLINK:
			return MoveOut // a device sent to another namespace
		}
		return Unregister
	case AddrGenID4:
		switch t {
		case unix.RTM_NEWADDR:
			return Addr4Add
		case unix.RTM_DELADDR:
			return Addr4Del
		}
		return LinkUp
	case AddrGenID6:
		if t == unix.RTM_DELADDR || t == unix.RTM_DELLINK {
			return Addr6Del
		}
		return Addr6New
	case NexthopSeq:
		if t == unix.RTM_DELNEXTHOP {
			return NexthopDel
		}
		return NexthopNew
	}
	return 0
}

var rtmNames = map[uint16]string{
	unix.RTM_NEWLINK: "RTM_NEWLINK", unix.RTM_DELLINK: "RTM_DELLINK", unix.RTM_SETLINK: "RTM_SETLINK",
	unix.RTM_NEWADDR: "RTM_NEWADDR", unix.RTM_DELADDR: "RTM_DELADDR",
	unix.RTM_NEWROUTE: "RTM_NEWROUTE", unix.RTM_DELROUTE: "RTM_DELROUTE",
	unix.RTM_NEWNEIGH: "RTM_NEWNEIGH", unix.RTM_DELNEIGH: "RTM_DELNEIGH",
	unix.RTM_NEWNEXTHOP: "RTM_NEWNEXTHOP", unix.RTM_DELNEXTHOP: "RTM_DELNEXTHOP",
}

func rtmName(t uint16) string {
	if s, ok := rtmNames[t]; ok {
		return s
	}
	return "RTM(" + strconv.Itoa(int(t)) + ")"
}
