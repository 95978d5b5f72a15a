package probe

import (
	"fmt"
	"net/netip"
	"strconv"

	"golang.org/x/sys/unix"
)

// request is one rtnetlink change request seen by the tracepoint backend:
// the counters of its socket's namespace when the syscall began and ended.
type request struct {
	e syscallRequestEvent
}

// The legacy ioctls bpf/syscall.c watches (changing_ioctl).
var ioctlNames = map[uint32]string{
	unix.SIOCSIFFLAGS: "SIOCSIFFLAGS", unix.SIOCSIFADDR: "SIOCSIFADDR", unix.SIOCSIFNETMASK: "SIOCSIFNETMASK",
	unix.SIOCDIFADDR: "SIOCDIFADDR", unix.SIOCBRADDBR: "SIOCBRADDBR", unix.SIOCBRDELBR: "SIOCBRDELBR", unix.TUNSETIFF: "TUNSETIFF",
}

// ioctlOp is what an ioctl did to the counter.
func (r *request) ioctlOp(c Counter) Op {
	cmd := r.e.Ioctl
	switch c {
	case DevBaseSeq:
		if cmd == unix.SIOCBRDELBR {
			return Unregister
		}
		return Register
	case AddrGenID4:
		switch cmd {
		case unix.SIOCSIFADDR, unix.SIOCSIFNETMASK:
			return Addr4Add
		case unix.SIOCDIFADDR, unix.SIOCBRDELBR:
			return Addr4Del
		}
		return LinkUp
	case AddrGenID6:
		if cmd == unix.SIOCBRDELBR {
			return Addr6Del
		}
		return Addr6New
	}
	return 0
}

// ioctlMayBump says which counters an ioctl can move: devices come and go
// with the bridge and tun ones, addresses with the address ones, and a
// device brought up bumps both address counters.
func (r *request) ioctlMayBump(c Counter) bool {
	switch r.e.Ioctl {
	case unix.SIOCSIFADDR, unix.SIOCSIFNETMASK, unix.SIOCDIFADDR:
		return c == AddrGenID4
	case unix.SIOCSIFFLAGS:
		return c == AddrGenID4 || c == AddrGenID6
	}
	return c != NexthopSeq
}

// mayBump says whether a request of this type can move the counter: a
// move it saw that it cannot have made was another request's, whose
// window overlapped, or a kernel worker's. Address requests move only
// their family's counter; nexthop requests only theirs. A device created
// down moves only dev_base_seq; a device deleted moves the address
// counters of the addresses it had, and nexthop.seq. Other link requests
// may bring a device up: every counter. Other requests move none.
func (r *request) mayBump(c Counter) bool {
	if r.e.Ioctl != 0 {
		return r.ioctlMayBump(c)
	}
	st := syscallDevState(r.e.DevState)
	switch t := r.e.MsgType; {
	case t == unix.RTM_NEWADDR || t == unix.RTM_DELADDR:
		if r.e.Family == unix.AF_INET6 {
			return c == AddrGenID6
		}
		return c == AddrGenID4
	case t == unix.RTM_NEWNEXTHOP || t == unix.RTM_DELNEXTHOP:
		return c == NexthopSeq
	case t == unix.RTM_NEWLINK && r.e.NlFlags&unix.NLM_F_CREATE != 0 && st&syscallDevStateDEV_FOUND == 0:
		return c == DevBaseSeq || st&syscallDevStateDEV_SET_UP != 0
	case t == unix.RTM_DELLINK && st&syscallDevStateDEV_FOUND != 0:
		switch c {
		case AddrGenID4:
			return st&syscallDevStateDEV_ADDR4 != 0
		case AddrGenID6:
			return st&syscallDevStateDEV_ADDR6 != 0
		}
		return true
	case t == unix.RTM_NEWLINK || t == unix.RTM_SETLINK || t == unix.RTM_DELLINK:
		return true
	}
	// Routes, neighbours, rules, qdiscs...: none of the counters.
	return false
}

func (r *request) writer(c Counter) *Writer {
	e := &r.e
	w := &Writer{
		Time: e.TsExit, Op: r.op(c), Counter: c, NetNS: e.Netns,
		Ifindex: e.Ifindex, Ifname: cstring(e.Ifname[:]), PrefixLen: int(e.Prefixlen),
		PID: e.Pid, TID: e.Tid, Comm: cstring(e.Comm[:]), Worker: e.TaskFlags&pfKworker != 0,
		Context: ContextTask, Request: r.name(),
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
	if r.e.Ioctl != 0 {
		return r.ioctlOp(c)
	}
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

// name is what the writer did: its request's type, or its ioctl.
func (r *request) name() string {
	if cmd := r.e.Ioctl; cmd != 0 {
		if s, ok := ioctlNames[cmd]; ok {
			return "ioctl " + s
		}
		return fmt.Sprintf("ioctl %#x", cmd)
	}
	return rtmName(r.e.MsgType)
}

func rtmName(t uint16) string {
	if s, ok := rtmNames[t]; ok {
		return s
	}
	return "RTM(" + strconv.Itoa(int(t)) + ")"
}
