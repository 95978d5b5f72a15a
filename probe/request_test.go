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

// TestClaimsHandEveryBumpOnce replays what a churn run with four workers
// showed: a veth deletion bumps dev_base_seq twice under RTNL, then waits
// for the device's users outside it, so a creation that took RTNL after
// it returns first. Every bump must go to one request, none twice.
func TestClaimsHandEveryBumpOnce(t *testing.T) {
	c := claims{}
	var got []string
	for _, r := range []*request{
		req(1, unix.RTM_NEWLINK, unix.NLM_F_CREATE, 10, 12, "a"), // a veth pair: 10, 11
		req(3, unix.RTM_NEWLINK, unix.NLM_F_CREATE, 14, 16, "c"), // took RTNL after 2's bumps
		req(2, unix.RTM_DELLINK, 0, 12, 16, "b"),                 // bumped 12, 13; returned last
		req(4, unix.RTM_DELLINK, 0, 15, 18, "d"),                 // overlaps 3's window: takes 16, 17
	} {
		for _, w := range c.writers(r) {
			got = append(got, fmt.Sprintf("%d:%v %s", w.Before, w.Op, w.Ifname))
		}
	}
	want := []string{"10:register a", "11:register a", "14:register c", "15:register c",
		"12:unregister b", "13:unregister b", "16:unregister d", "17:unregister d"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("writers\n got %v\nwant %v", got, want)
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
