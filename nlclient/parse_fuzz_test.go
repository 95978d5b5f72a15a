package nlclient

import (
	"testing"

	"golang.org/x/sys/unix"
)

// FuzzDatagram feeds arbitrary bytes, split into datagrams, to the dump
// reader of every kind: nothing may panic, and a reader that says it is done
// must have seen NLMSG_DONE or NLMSG_ERROR.
func FuzzDatagram(f *testing.F) {
	f.Add(concat(nlmsg(unix.RTM_NEWLINK, unix.NLM_F_MULTI|flagIntr, 1, 2, linkPayload(1, "lo")), nlmsg(unix.NLMSG_DONE, unix.NLM_F_MULTI, 1, 2, make([]byte, 4))), uint8(0), uint16(0))
	f.Add(nlmsg(unix.NLMSG_ERROR, unix.NLM_F_ACK_TLVS, 1, 2, concat(errno32(unix.EBUSY), nlmsg(unix.RTM_GETLINK, 0, 1, 2, nil), []byte{5, 0, 1, 0, 'x', 0, 0, 0})), uint8(0), uint16(12))
	f.Add(nlmsg(unix.RTM_NEWADDR, unix.NLM_F_MULTI, 1, 2, addrPayload(2, mustPrefix("10.0.0.1/8"))), uint8(1), uint16(0))
	f.Add(nlmsg(unix.RTM_NEWROUTE, unix.NLM_F_MULTI, 1, 2, routePayload(254, mustPrefix("fd00::/8"), 1)), uint8(4), uint16(0))
	f.Add(nlmsg(unix.RTM_NEWNEXTHOP, unix.NLM_F_MULTI, 1, 2, nexthopPayload(3)), uint8(6), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, kind uint8, split uint16) {
		k := Kinds[int(kind)%len(Kinds)]
		d := reader{r: &Result{Kind: k, Seq: 1, PortID: 2}}
		datagrams := [][]byte{data}
		if s := int(split); s > 0 && s < len(data) {
			datagrams = [][]byte{data[:s], data[s:]}
		}
		for _, b := range datagrams {
			if _, err := d.datagram(b); err != nil {
				return
			}
		}
		if d.r.FirstInterrupted > len(d.r.Chunks) {
			t.Fatalf("first interrupted chunk %d of %d", d.r.FirstInterrupted, len(d.r.Chunks))
		}
	})
}
