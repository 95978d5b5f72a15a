package nlclient

import (
	"encoding/binary"
	"net/netip"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Builders of synthetic netlink messages, as the kernel lays them out.

func nlmsg(typ, flags uint16, seq, pid uint32, data []byte) []byte {
	b := make([]byte, align(headerLen+len(data)))
	copy(b, bytesOf(&unix.NlMsghdr{Len: uint32(headerLen + len(data)), Type: typ, Flags: flags, Seq: seq, Pid: pid}))
	copy(b[headerLen:], data)
	return b
}

func attrs(fn func(ae *netlink.AttributeEncoder)) []byte {
	ae := netlink.NewAttributeEncoder()
	fn(ae)
	b, err := ae.Encode()
	if err != nil {
		panic(err)
	}
	return b
}

func linkPayload(index int32, name string) []byte {
	return append(ifinfo(index, 0, 0), attrs(func(ae *netlink.AttributeEncoder) { ae.String(unix.IFLA_IFNAME, name) })...)
}

func addrPayload(index int32, p netip.Prefix) []byte {
	h := unix.IfAddrmsg{Family: unix.AF_INET, Prefixlen: uint8(p.Bits()), Index: uint32(index)}
	if p.Addr().Is6() {
		h.Family = unix.AF_INET6
	}
	return append(bytesOf(&h), attrs(func(ae *netlink.AttributeEncoder) {
		ae.Bytes(unix.IFA_ADDRESS, p.Addr().AsSlice())
		if p.Addr().Is4() {
			ae.Bytes(unix.IFA_LOCAL, p.Addr().AsSlice())
		}
	})...)
}

func routePayload(table uint8, p netip.Prefix, oif uint32) []byte {
	h := unix.RtMsg{Family: unix.AF_INET, Dst_len: uint8(p.Bits()), Table: table}
	if p.Addr().Is6() {
		h.Family = unix.AF_INET6
	}
	return append(bytesOf(&h), attrs(func(ae *netlink.AttributeEncoder) {
		if p.Bits() > 0 {
			ae.Bytes(unix.RTA_DST, p.Addr().AsSlice())
		}
		ae.Uint32(unix.RTA_TABLE, uint32(table))
		ae.Uint32(unix.RTA_OIF, oif)
	})...)
}

func neighPayload(index int32, a netip.Addr) []byte {
	return append(bytesOf(&unix.NdMsg{Family: unix.AF_INET, Ifindex: index}), attrs(func(ae *netlink.AttributeEncoder) { ae.Bytes(unix.NDA_DST, a.AsSlice()) })...)
}

func nexthopPayload(id uint32) []byte {
	return append(bytesOf(&unix.Nhmsg{}), attrs(func(ae *netlink.AttributeEncoder) {
		ae.Uint32(unix.NHA_ID, id)
		ae.Flag(unix.NHA_BLACKHOLE, true)
	})...)
}

func statsPayload(index int32) []byte {
	return bytesOf(&ifStatsMsg{Ifindex: uint32(index)})
}

func errno32(e unix.Errno) []byte {
	b := make([]byte, 4)
	binary.NativeEndian.PutUint32(b, uint32(-int32(e)))
	return b
}

func concat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}
