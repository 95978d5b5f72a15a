package probe

import (
	"fmt"
	"slices"
	"testing"
)

// notice builds a notice of thread tid in namespace 1 with the counters
// (dev_base_seq, ipv4 genid, ipv6 genid) at its time.
func notice(t uint16, tid uint32, name string, dev, a4, a6 uint32) *readyNoticeEvent {
	e := &readyNoticeEvent{MsgType: t, Tid: tid, Pid: tid, Netns: 1, Counters: [4]uint32{dev, a4, a6, 0}}
	copy(e.Ifname[:], []int8(toInt8(name)))
	return e
}

// describe is one line per writer: op, device, counter and the value it
// bumped from, in the order handed out.
func describe(ws []*Writer) []string {
	var out []string
	for _, w := range ws {
		out = append(out, fmt.Sprintf("%v %s %v@%d", w.Op, w.Ifname, w.Counter, w.Before))
	}
	return out
}

func TestNotices(t *testing.T) {
	base := notice(0, 0, "", 10, 100, 200)
	for _, tt := range []struct {
		name string
		in   []*readyNoticeEvent
		obs  *Counters // a chunk's read after the notices, if any
		want []string
	}{
		{
			name: "a device is bumped before its notice: the later notice made it",
			in:   []*readyNoticeEvent{base, notice(rtmNewLink, 1, "a", 11, 100, 200)},
			want: []string{"register a dev_base_seq@10"},
		},
		{
			name: "an address is bumped after its notice: the earlier notice made it",
			in: []*readyNoticeEvent{base, notice(rtmNewAddr, 1, "a", 10, 100, 200),
				notice(rtmNewAddr, 2, "b", 10, 101, 200)},
			want: []string{"addr4-add a ipv4.dev_addr_genid@100"},
		},
		{
			name: "a chunk reading the address counter settles the last notice's bump",
			in:   []*readyNoticeEvent{base, notice(rtmNewAddr, 1, "a", 10, 100, 200)},
			obs:  &Counters{DevBaseSeq: 10, AddrGenID4: 101, AddrGenID6: 200},
			want: []string{"addr4-add a ipv4.dev_addr_genid@100"},
		},
		{
			name: "the listener's own dump reads the counters as a chunk does",
			in: []*readyNoticeEvent{base, notice(rtmDelAddr, 1, "a", 10, 100, 200),
				notice(0, 0, "", 10, 101, 200)},
			want: []string{"addr4-del a ipv4.dev_addr_genid@100"},
		},
		{
			name: "a chunk never settles a device's bump: its notice has yet to come",
			in:   []*readyNoticeEvent{base, notice(rtmNewAddr, 1, "a", 10, 100, 200)},
			obs:  &Counters{DevBaseSeq: 11, AddrGenID4: 100, AddrGenID6: 200},
		},
		{
			name: "counters that wrapped around",
			in: []*readyNoticeEvent{notice(0, 0, "", 0xffffffff, 0xffffffff, 200),
				notice(rtmNewLink, 1, "a", 1, 0xffffffff, 200), notice(rtmNewAddr, 2, "b", 1, 0xffffffff, 200)},
			obs:  &Counters{DevBaseSeq: 1, AddrGenID4: 0, AddrGenID6: 200},
			want: []string{"register a dev_base_seq@4294967295", "register a dev_base_seq@0", "addr4-add b ipv4.dev_addr_genid@4294967295"},
		},
		{
			name: "both devices of a pair go, then both are announced: one bump each",
			in: []*readyNoticeEvent{base, notice(rtmDelLink, 1, "v", 12, 100, 200),
				notice(rtmDelLink, 1, "vp", 12, 100, 200)},
			want: []string{"unregister v dev_base_seq@10", "unregister vp dev_base_seq@11"},
		},
		{
			name: "a deleted device's addresses are announced first: the device's notice takes its bump",
			in: []*readyNoticeEvent{base, notice(rtmDelAddr, 1, "a", 11, 100, 200),
				notice(rtmDelLink, 1, "a", 11, 101, 200)},
			want: []string{"addr4-del a ipv4.dev_addr_genid@100", "unregister a dev_base_seq@10"},
		},
		{
			name: "a bump kept for a link notice that another task's notice outruns goes to its taker",
			in: []*readyNoticeEvent{base, notice(rtmDelAddr, 1, "a", 11, 100, 200),
				notice(rtmNewAddr, 2, "b", 11, 100, 200)},
			want: []string{"unregister a dev_base_seq@10"},
		},
		{
			name: "a device leaving for another namespace, and arriving there",
			in: []*readyNoticeEvent{base, {MsgType: 0, Netns: 2, Counters: [4]uint32{5}},
				moved(notice(rtmDelLink, 1, "m", 11, 100, 200)),
				{MsgType: rtmNewLink, Tid: 1, Netns: 2, Counters: [4]uint32{6}},
				{MsgType: rtmNewLink, Tid: 1, Netns: 2, Counters: [4]uint32{7}}},
			want: []string{"move-out m dev_base_seq@10", "move-in  dev_base_seq@5", "register  dev_base_seq@6"},
		},
		{
			name: "a kernel worker's IPv6 change (DAD) is the worker's",
			in: []*readyNoticeEvent{base, worker(notice(rtmNewAddr, 9, "a", 10, 100, 200)),
				notice(rtmNewAddr, 1, "b", 10, 100, 201)},
			want: []string{"addr6-new a ipv6.dev_addr_genid@200 worker"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := newNotices()
			var got []*Writer
			for _, e := range tt.in {
				got = append(got, n.add(e)...)
			}
			if tt.obs != nil {
				got = append(got, n.observe(1, *tt.obs)...)
			}
			got = append(got, n.flush()...)
			lines := describe(got)
			for i, w := range got {
				if w.Worker {
					lines[i] += " worker"
				}
			}
			if !slices.Equal(lines, tt.want) {
				t.Errorf("writers\n  %q\nwant\n  %q", lines, tt.want)
			}
		})
	}
}

func moved(e *readyNoticeEvent) *readyNoticeEvent {
	e.Moved = 1
	return e
}

func worker(e *readyNoticeEvent) *readyNoticeEvent {
	e.TaskFlags = pfKworker
	return e
}

// TestNoticesPokeOncePerNotice checks that an idle namespace is asked for
// its counters once after a notice, not at every idle poll.
func TestNoticesPokeOncePerNotice(t *testing.T) {
	n := newNotices()
	n.add(notice(0, 0, "", 10, 100, 200))
	if n.unobserved(1) {
		t.Error("poked before any notice")
	}
	n.add(notice(rtmNewAddr, 1, "a", 10, 100, 200))
	if !n.unobserved(1) || n.unobserved(1) {
		t.Error("want one poke after a notice")
	}
	n.add(notice(rtmNewAddr, 1, "a", 10, 101, 200))
	n.observe(1, Counters{DevBaseSeq: 10, AddrGenID4: 102})
	if n.unobserved(1) {
		t.Error("poked although a chunk read the counters since the notice")
	}
	n.add(notice(rtmNewAddr, 1, "a", 10, 102, 200))
	if !n.unobserved(1) {
		t.Error("no poke after the next notice")
	}
}

// TestSettle sets a chunk's counters back to what its handler read, as
// cb->seq says: the counter itself for links and nexthops, one of the two
// an address dump combines.
func TestSettle(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   Sample
		prev *Counters
		want Counters
	}{
		{
			name: "a link dump's seq is dev_base_seq",
			in:   Sample{MsgType: rtmGetLink, SeqAfter: 10, Counters: Counters{DevBaseSeq: 11, AddrGenID4: 7}},
			want: Counters{DevBaseSeq: 10, AddrGenID4: 7},
		},
		{
			name: "a nexthop dump's seq is nexthop.seq",
			in:   Sample{MsgType: rtmGetNexthop, SeqAfter: 4, Counters: Counters{NexthopSeq: 5}},
			want: Counters{NexthopSeq: 4},
		},
		{
			name: "an address dump whose counters still match",
			in:   Sample{MsgType: rtmGetAddr, SeqAfter: 110, Counters: Counters{DevBaseSeq: 10, AddrGenID4: 100}},
			want: Counters{DevBaseSeq: 10, AddrGenID4: 100},
		},
		{
			name: "an address added since the handler ran",
			in:   Sample{MsgType: rtmGetAddr, SeqAfter: 110, Counters: Counters{DevBaseSeq: 10, AddrGenID4: 101}},
			prev: &Counters{DevBaseSeq: 10, AddrGenID4: 99},
			want: Counters{DevBaseSeq: 10, AddrGenID4: 100},
		},
		{
			name: "a device added since: the previous chunk rules out setting the address counter back",
			in:   Sample{MsgType: rtmGetAddr, SeqAfter: 110, Counters: Counters{DevBaseSeq: 11, AddrGenID4: 100}},
			prev: &Counters{DevBaseSeq: 10, AddrGenID4: 100},
			want: Counters{DevBaseSeq: 10, AddrGenID4: 100},
		},
		{
			name: "XOR, as kernels before the 2024 fix combine them",
			in:   Sample{MsgType: rtmGetAddr, SeqAfter: 0x10 ^ 0x100, Counters: Counters{DevBaseSeq: 0x10, AddrGenID6: 0x101}},
			want: Counters{DevBaseSeq: 0x10, AddrGenID6: 0x100},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.in
			settle(&s, tt.prev)
			if s.Counters != tt.want {
				t.Errorf("counters %+v, want %+v", s.Counters, tt.want)
			}
		})
	}
}

// TestNoticesForgetOldMoves: a device moved into a namespace nltrace does
// not listen in yet never announces its arrival; its thread's move must
// not stay for the rest of the run (a pod's veth, on a host watched for
// days).
func TestNoticesForgetOldMoves(t *testing.T) {
	n := newNotices()
	for tid := range uint32(1000) {
		n.add(&readyNoticeEvent{MsgType: rtmDelLink, Moved: 1, Tid: tid, Ts: uint64(tid) * moveTime / 10, Netns: 1})
	}
	if len(n.moving) > 11 {
		t.Errorf("%d moves kept, want those of the last second only", len(n.moving))
	}
}
