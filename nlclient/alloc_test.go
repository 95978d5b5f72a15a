package nlclient

import (
	"context"
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// TestParseAllocations bounds what reading a dump allocates: a link's name
// and the slices' growth, nothing per attribute or per message header. An
// allocation count, unlike a time, is the same on a busy machine.
func TestParseAllocations(t *testing.T) {
	rec, datagrams := loadRecording(t, "link")
	allocs := testing.AllocsPerRun(20, func() {
		d := reader{r: &Result{Kind: rec.Kind, Seq: rec.Seq, PortID: rec.PortID}}
		for _, dg := range datagrams {
			if _, err := d.datagram(dg); err != nil {
				t.Fatal(err)
			}
		}
	})
	// One name per link, and a few dozen for growing Objects and Chunks.
	if limit := float64(rec.Objects + 40); allocs > limit {
		t.Errorf("reading %d links allocated %.0f times, want at most %.0f", rec.Objects, allocs, limit)
	}
}

// TestDumpReservesRoom: a dump makes room for as many objects as the last
// dump of its table returned, at once, instead of growing its slice as
// objects come.
func TestDumpReservesRoom(t *testing.T) {
	const links = 300
	var datagram []byte
	var offsets []int
	for i := 1; i <= links; i++ {
		offsets = append(offsets, len(datagram))
		datagram = append(datagram, nlmsg(unix.RTM_NEWLINK, unix.NLM_F_MULTI, 0, 0, linkPayload(int32(i), "x"))...)
	}
	done := nlmsg(unix.NLMSG_DONE, unix.NLM_F_MULTI, 0, 0, make([]byte, 4))
	replies := [][]byte{datagram, done}
	c, _ := fakeClient(func(_ int, seq, pid uint32) [][]byte {
		// Address the prepared replies to this request, in place: the
		// script must not allocate, the dump's own allocations are counted.
		for _, off := range append(offsets, len(datagram)) {
			b := datagram
			if off == len(datagram) {
				b, off = done, 0
			}
			binary.NativeEndian.PutUint32(b[off+8:], seq)
			binary.NativeEndian.PutUint32(b[off+12:], pid)
		}
		return replies
	})
	dump := func() {
		r, err := c.Dump(context.Background(), Link, Options{})
		if err != nil || len(r.Objects) != links {
			t.Fatalf("dump: %v", err)
		}
	}
	dump()
	// The Result, its Chunks, Objects once (one-letter names cost nothing:
	// Go keeps such strings static); growing Objects one append at a time
	// would add about ten.
	if allocs := testing.AllocsPerRun(10, dump); allocs > 8 {
		t.Errorf("a dump of %d links allocated %.0f times, want at most 8", links, allocs)
	}
}
