package probe

import (
	"fmt"
	"testing"

	"golang.org/x/sys/unix"
)

func req(tid uint32, msgType uint16, flags uint16, before, after uint32, ifname string) *request {
	r := &request{}
	r.e.Tid, r.e.MsgType, r.e.NlFlags, r.e.Netns = tid, msgType, flags, 7
	r.e.Before[0], r.e.After[0] = before, after
	copy(r.e.Ifname[:], []int8(toInt8(ifname)))
	return r
}

func toInt8(s string) []int8 {
	out := make([]int8, len(s))
	for i := range s {
		out[i] = int8(s[i])
	}
	return out
}

// names lists writers as value:device.
func names(ws []*Writer) string {
	var s []string
	for _, w := range ws {
		s = append(s, fmt.Sprintf("%d:%s", w.Before, w.Ifname))
	}
	return fmt.Sprint(s)
}

// TestClaimsHandEveryBumpOnce replays what a churn run with four workers
// showed: a veth deletion (b) bumps dev_base_seq twice under RTNL, then
// waits for the device's users outside it, so requests that took RTNL
// after it return first. Every bump must go to the request that made it.
func TestClaimsHandEveryBumpOnce(t *testing.T) {
	c := newClaims()
	d := req(4, unix.RTM_DELLINK, 0, 15, 18, "d") // entered while c held RTNL, and waited
	d.e.Waits, d.e.WaitedFrom[0][0], d.e.WaitedTo[0][0] = 1, 15, 16
	var got []*Writer
	for i, r := range []*request{
		req(1, unix.RTM_NEWLINK, unix.NLM_F_CREATE, 10, 12, "a"), // a veth pair: 10, 11
		req(3, unix.RTM_NEWLINK, unix.NLM_F_CREATE, 14, 16, "c"), // entered after b's bumps
		req(2, unix.RTM_DELLINK, 0, 12, 16, "b"),                 // bumped 12, 13; returned late
		d,                                                        // bumped 16, 17
	} {
		r.e.TsExit = uint64(i + 1)
		got = append(got, c.add(r)...)
	}
	got = append(got, c.flush()...)
	want := "[10:a 11:a 14:c 15:c 12:b 13:b 16:d 17:d]"
	if names(got) != want {
		t.Errorf("writers\n got %s\nwant %s", names(got), want)
	}
}

// TestRequestOps checks which operation each request is reported as.
func TestRequestOps(t *testing.T) {
	for _, tt := range []struct {
		msgType uint16
		flags   uint16
		counter Counter
		want    Op
	}{
		{unix.RTM_NEWLINK, unix.NLM_F_CREATE | unix.NLM_F_EXCL, DevBaseSeq, Register},
		{unix.RTM_DELLINK, 0, DevBaseSeq, Unregister},
		{unix.RTM_NEWLINK, 0, DevBaseSeq, MoveOut},
		{unix.RTM_SETLINK, 0, AddrGenID4, LinkUp},
		{unix.RTM_NEWADDR, unix.NLM_F_CREATE, AddrGenID4, Addr4Add},
		{unix.RTM_DELADDR, 0, AddrGenID4, Addr4Del},
		{unix.RTM_NEWADDR, unix.NLM_F_CREATE, AddrGenID6, Addr6New},
		{unix.RTM_DELADDR, 0, AddrGenID6, Addr6Del},
		{unix.RTM_NEWNEXTHOP, unix.NLM_F_CREATE, NexthopSeq, NexthopNew},
		{unix.RTM_DELNEXTHOP, 0, NexthopSeq, NexthopDel},
	} {
		r := req(1, tt.msgType, tt.flags, 0, 1, "")
		if got := r.op(tt.counter); got != tt.want {
			t.Errorf("%s flags %#x on %v: %v, want %v", rtmName(tt.msgType), tt.flags, tt.counter, got, tt.want)
		}
	}
}

// TestClaimsLeaveWaitersRangeToHolder replays two requests whose syscalls
// overlap: the waiter waited for RTNL behind the holder from 10 to 12,
// and returned first. The holder's bumps (10, 11) stay its own when it
// returns within resolveDelay; when no request shows for them (a kernel
// worker held the mutex) nobody takes them. Nothing is decided before
// resolveDelay.
func TestClaimsLeaveWaitersRangeToHolder(t *testing.T) {
	waiter := req(2, unix.RTM_NEWLINK, unix.NLM_F_CREATE, 10, 14, "w")
	waiter.e.Waits, waiter.e.WaitedFrom[0][0], waiter.e.WaitedTo[0][0], waiter.e.TsExit = 1, 10, 12, 1000
	holder := req(1, unix.RTM_DELLINK, 0, 10, 12, "h")
	holder.e.TsExit = 1000 + resolveDelay/2

	c := newClaims()
	early := names(append(c.add(waiter), c.add(holder)...))
	later := names(c.resolve(1000 + 2*resolveDelay))
	if early != "[]" || later != "[12:w 13:w 10:h 11:h]" {
		t.Errorf("holder returning in time: %s then %s; want [] then [12:w 13:w 10:h 11:h]", early, later)
	}

	c = newClaims()
	c.add(waiter)
	if got := names(c.flush()); got != "[12:w 13:w]" {
		t.Errorf("holder never seen: %s, want the waiter to leave its wait's values (a kernel worker's) alone", got)
	}
}

// BenchmarkClaims hands out the bumps of a churn of address requests,
// one bump each, 10,000 a second: the reader must keep up with the ring
// buffer whatever the number of requests recent.
func BenchmarkClaims(b *testing.B) {
	c := newClaims()
	for i := range b.N {
		r := req(uint32(i%4), unix.RTM_NEWADDR, unix.NLM_F_CREATE, 0, 0, "")
		r.e.Before[1], r.e.After[1] = uint32(i), uint32(i+1) // ipv4.dev_addr_genid
		r.e.TsEnter, r.e.TsExit = uint64(i)*100_000, uint64(i)*100_000+50_000
		c.add(r)
	}
}
