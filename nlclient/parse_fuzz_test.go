package nlclient

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// FuzzDatagram feeds arbitrary bytes, split into up to two datagrams, to the
// dump reader of every kind. Nothing may panic; a reader that says it is
// done must have been given this dump's NLMSG_DONE or NLMSG_ERROR, and one
// given it in a datagram read without error must say it is done; chunks are
// numbered 1, 2, ... and the first interrupted one is one of them and
// carries the flag.
func FuzzDatagram(f *testing.F) {
	f.Add(concat(nlmsg(unix.RTM_NEWLINK, unix.NLM_F_MULTI|flagIntr, 1, 2, linkPayload(1, "lo")), nlmsg(unix.NLMSG_DONE, unix.NLM_F_MULTI, 1, 2, make([]byte, 4))), uint8(0), uint16(0))
	f.Add(nlmsg(unix.NLMSG_ERROR, unix.NLM_F_ACK_TLVS, 1, 2, concat(errno32(unix.EBUSY), nlmsg(unix.RTM_GETLINK, 0, 1, 2, nil), []byte{5, 0, 1, 0, 'x', 0, 0, 0})), uint8(0), uint16(12))
	f.Add(nlmsg(unix.RTM_NEWADDR, unix.NLM_F_MULTI, 1, 2, addrPayload(2, mustPrefix("10.0.0.1/8"))), uint8(1), uint16(0))
	f.Add(nlmsg(unix.RTM_NEWROUTE, unix.NLM_F_MULTI, 1, 2, routePayload(254, mustPrefix("fd00::/8"), 1)), uint8(4), uint16(0))
	f.Add(nlmsg(unix.RTM_NEWNEXTHOP, unix.NLM_F_MULTI, 1, 2, nexthopPayload(3)), uint8(6), uint16(0))
	// A stale dump's NLMSG_DONE (another sequence number) must not end this one.
	f.Add(concat(nlmsg(unix.NLMSG_DONE, unix.NLM_F_MULTI, 7, 2, make([]byte, 4)), nlmsg(unix.RTM_NEWLINK, unix.NLM_F_MULTI, 1, 2, linkPayload(1, "lo"))), uint8(0), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, kind uint8, split uint16) {
		const seq, pid = 1, 2
		k := Kinds[int(kind)%len(Kinds)]
		d := reader{r: &Result{Kind: k, Seq: seq, PortID: pid}}
		datagrams := [][]byte{data}
		if s := int(split); s > 0 && s < len(data) {
			datagrams = [][]byte{data[:s], data[s:]}
		}
		given := false // this dump's DONE or ERROR was in a datagram read so far
		for _, b := range datagrams {
			_, err := d.datagram(b)
			ends := endsDump(b, seq, pid)
			given = given || ends
			if d.done && !given {
				t.Fatalf("done without this dump's NLMSG_DONE or NLMSG_ERROR")
			}
			if err == nil && ends && !d.done {
				t.Fatalf("a datagram with this dump's NLMSG_DONE or NLMSG_ERROR, read without error, left the reader waiting")
			}
			if err != nil {
				break
			}
		}
		for i, c := range d.r.Chunks {
			if c.Index != i+1 {
				t.Fatalf("chunk %d numbered %d", i+1, c.Index)
			}
		}
		if n := d.r.FirstInterrupted; n != 0 && (n > len(d.r.Chunks) || !d.r.Chunks[n-1].Interrupted) {
			t.Fatalf("first interrupted chunk %d of %d: %+v", n, len(d.r.Chunks), d.r.Chunks)
		}
	})
}

// endsDump reports whether a datagram holds a well-formed NLMSG_DONE or
// NLMSG_ERROR of the dump (seq, pid) before anything malformed: an
// independent reading of the framing, which the reader's must agree with.
func endsDump(b []byte, seq, pid uint32) bool {
	for len(b) >= unix.NLMSG_HDRLEN {
		l := binary.NativeEndian.Uint32(b)
		typ := binary.NativeEndian.Uint16(b[4:])
		if l < unix.NLMSG_HDRLEN || uint64(l) > uint64(len(b)) {
			return false
		}
		if (typ == unix.NLMSG_DONE || typ == unix.NLMSG_ERROR) &&
			binary.NativeEndian.Uint32(b[8:]) == seq && binary.NativeEndian.Uint32(b[12:]) == pid {
			return true
		}
		b = b[min((int(l)+3)&^3, len(b)):]
	}
	return false
}
