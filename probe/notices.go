package probe

import (
	"net/netip"
	"time"
)

// notices hands each bump of a counter to the notification sent from
// inside the change that made it (bpf/ready.c). A namespace's changes run
// one at a time under RTNL, and each sends its notifications from inside
// itself, so between two notices of a namespace every bump is the first
// one's or the second one's, and which depends on the counter:
//   - dev_base_seq and nexthop.seq are bumped before the notification
//     (list_netdevice, then RTM_NEWLINK at the end of the registration):
//     the later notice made them;
//   - the address counters are bumped after it (rtmsg_ifa, then the
//     inetaddr notifier chain; inet6_ifa_notify, then the end of
//     __ipv6_ifa_notify; RTM_NEWLINK, then NETDEV_UP): the earlier made
//     them. A chunk that reads them before any later notice comes says
//     so too.
//
// A device's bump taken by a notice not about a link (the addresses a
// deleted device loses are announced before the device), or a second
// bump taken with the first (both devices of a veth pair go, then both are
// announced), is kept for the next link notice of the same task, if one
// comes before another task's.
type notices struct {
	ns map[uint64]*noticeNS
	// The threads moving a device out of a namespace, and when: the
	// device's RTM_NEWLINK in the next namespace is a move in.
	moving map[uint32]uint64
}

type noticeNS struct {
	// Bumps from these values on are not handed out yet.
	seen  [4]uint32 // by requestCounters
	known bool
	last  *readyNoticeEvent // the namespace's latest notice
	owed  []owedBump
	// A notice came since the counters were last read by a chunk, and the
	// listener was asked for a dump that reads them (poked).
	unread, poked bool
}

// owedBump is a dev_base_seq bump a notice took that the next link notice
// of its task is likelier to have made.
type owedBump struct {
	by     *readyNoticeEvent
	before uint32
	op     Op
}

// Notification types (include/uapi/linux/rtnetlink.h).
const (
	rtmNewLink    = 16
	rtmDelLink    = 17
	rtmNewAddr    = 20
	rtmDelAddr    = 21
	rtmNewNexthop = 104
	rtmDelNexthop = 105
)

// moveTime bounds how long a device takes from one namespace to the next.
const moveTime = uint64(time.Second)

func newNotices() *notices {
	return &notices{ns: map[uint64]*noticeNS{}, moving: map[uint32]uint64{}}
}

func (n *notices) get(netns uint64) *noticeNS {
	s := n.ns[netns]
	if s == nil {
		s = &noticeNS{}
		n.ns[netns] = s
	}
	return s
}

// add takes a notice in and returns the writers it decides.
func (n *notices) add(e *readyNoticeEvent) []*Writer {
	s := n.get(e.Netns)
	if e.MsgType == 0 { // the listener's own dump
		if !s.known {
			s.seen, s.known = e.Counters, true
			return nil
		}
		return n.observe(e.Netns, Counters{e.Counters[0], e.Counters[1], e.Counters[2], e.Counters[3]})
	}
	op := noticeOp(e.MsgType, DevBaseSeq)
	switch {
	case e.MsgType == rtmDelLink && e.Moved != 0:
		op = MoveOut
		n.forgetMoves(e.Ts)
		n.moving[e.Tid] = e.Ts
	case e.MsgType == rtmNewLink && n.movedBy(e):
		op = MoveIn
	}
	s.unread, s.poked = true, false
	if !s.known {
		s.seen, s.known, s.last = e.Counters, true, e
		return nil
	}
	var out []*Writer
	if len(s.owed) > 0 && s.owed[0].by.Tid != e.Tid {
		out = s.payOwed(out)
	}
	for i, c := range requestCounters {
		from, to, moved := s.advance(i, e.Counters[i])
		if !moved {
			continue
		}
		switch c {
		case AddrGenID4, AddrGenID6:
			if s.last != nil {
				out = appendBumps(out, s.last, c, from, to)
			}
		case DevBaseSeq:
			for v := from; v != to; v++ {
				s.owed = append(s.owed, owedBump{e, v, op})
			}
		default:
			out = appendBumps(out, e, c, from, to)
		}
	}
	if isLink(e) && len(s.owed) > 0 {
		b := s.owed[0]
		s.owed = s.owed[1:]
		w := noticeWriter(e, DevBaseSeq, b.before)
		w.Op = op
		out = append(out, w)
	}
	s.last = e
	return out
}

// forgetMoves drops the moves older than moveTime at now: a device moved
// into a namespace nltrace does not listen in yet (a pod's, made a moment
// before) never announces its arrival.
func (n *notices) forgetMoves(now uint64) {
	for tid, t := range n.moving {
		if now-t >= moveTime {
			delete(n.moving, tid)
		}
	}
}

// movedBy reports whether e's thread has just moved a device out of a
// namespace: e announces its arrival.
func (n *notices) movedBy(e *readyNoticeEvent) bool {
	t, ok := n.moving[e.Tid]
	delete(n.moving, e.Tid)
	return ok && e.Ts-t < moveTime
}

// observe takes the counters a chunk read: address bumps since the last
// notice are that notice's.
func (n *notices) observe(netns uint64, k Counters) []*Writer {
	s := n.ns[netns]
	if s == nil || s.last == nil {
		return nil
	}
	s.unread = false
	var out []*Writer
	for i, c := range requestCounters {
		if c != AddrGenID4 && c != AddrGenID6 {
			continue
		}
		if from, to, moved := s.advance(i, k.Get(c)); moved {
			out = appendBumps(out, s.last, c, from, to)
		}
	}
	return out
}

// flush hands the bumps kept for a link notice that has not come to the
// notices that took them.
func (n *notices) flush() []*Writer {
	var out []*Writer
	for _, s := range n.ns {
		out = s.payOwed(out)
	}
	return out
}

// advance moves counter i's handed-out mark to now, and returns the
// values bumped since: at most maxBumps, the latest.
func (s *noticeNS) advance(i int, now uint32) (from, to uint32, moved bool) {
	from, to = s.seen[i], now
	if int32(to-from) <= 0 {
		return 0, 0, false
	}
	s.seen[i] = to
	if to-from > maxBumps {
		from = to - maxBumps
	}
	return from, to, true
}

// unobserved reports whether a notice came in the namespace since a chunk
// last read its counters, and marks it asked for (one dump per notice).
func (n *notices) unobserved(netns uint64) bool {
	s := n.ns[netns]
	if s == nil || !s.unread || s.poked {
		return false
	}
	s.poked = true
	return true
}

func (s *noticeNS) payOwed(out []*Writer) []*Writer {
	for _, b := range s.owed {
		w := noticeWriter(b.by, DevBaseSeq, b.before)
		w.Op = b.op
		out = append(out, w)
	}
	s.owed = s.owed[:0]
	return out
}

func isLink(e *readyNoticeEvent) bool { return e.MsgType == rtmNewLink || e.MsgType == rtmDelLink }

func appendBumps(out []*Writer, e *readyNoticeEvent, c Counter, from, to uint32) []*Writer {
	for v := from; v != to; v++ {
		out = append(out, noticeWriter(e, c, v))
	}
	return out
}

// noticeWriter is the bump of counter c from before, made by the change
// that sent notice e, in the form the fentry backend reports it.
func noticeWriter(e *readyNoticeEvent, c Counter, before uint32) *Writer {
	w := &Writer{
		Time: e.Ts, Op: noticeOp(e.MsgType, c), Counter: c, Before: before, NetNS: e.Netns,
		Ifindex: e.Ifindex, Ifname: cstring(e.Ifname[:]), PID: e.Pid, TID: e.Tid, Comm: cstring(e.Comm[:]),
		Worker: e.TaskFlags&pfKworker != 0, Context: ContextTask,
	}
	if e.HasAddr != 0 && (e.MsgType == rtmNewAddr || e.MsgType == rtmDelAddr) {
		w.PrefixLen = int(e.Prefixlen)
		if e.Family == afInet6 {
			w.Addr = netip.AddrFrom16(e.Addr)
		} else {
			w.Addr = netip.AddrFrom4([4]byte(e.Addr[:4]))
		}
	}
	return w
}

const afInet6 = 10

// noticeOp names what a change that sent a notification of type t did to
// counter c, in the fentry backend's terms.
func noticeOp(t uint16, c Counter) Op {
	added := t == rtmNewLink || t == rtmNewAddr || t == rtmNewNexthop
	pick := func(add, del Op) Op {
		if added {
			return add
		}
		return del
	}
	switch c {
	case DevBaseSeq:
		return pick(Register, Unregister)
	case AddrGenID4:
		if t == rtmNewLink {
			return LinkUp
		}
		return pick(Addr4Add, Addr4Del)
	case AddrGenID6:
		return pick(Addr6New, Addr6Del)
	case NexthopSeq:
		if t == rtmDelLink {
			return NexthopFlush
		}
		return pick(NexthopNew, NexthopDel)
	}
	return 0
}
