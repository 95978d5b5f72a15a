package nlclient

import (
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// The decoders of kindTable: each reads its kind's fixed header and the few
// attributes an Object keeps. A message that is only a header stops there.

// decodeLink stops at the name. The kernel puts IFLA_IFNAME first, so a link
// message, some forty attributes, costs one step instead of forty: that
// walk was half of a link dump's parsing. Attributes after the name go
// unchecked.
func decodeLink(o *Object, data []byte) error {
	o.Index = load[unix.IfInfomsg](data).Index
	a := attributes{b: data[unix.SizeofIfInfomsg:]}
	for a.next() {
		if a.typ == unix.IFLA_IFNAME {
			o.Name = a.string()
			break
		}
	}
	return a.failure(o.Kind)
}

func decodeAddr(o *Object, data []byte) error {
	h := load[unix.IfAddrmsg](data)
	o.Index = int32(h.Index)
	if len(data) == unix.SizeofIfAddrmsg {
		return nil
	}
	var addr, local netip.Addr
	a := attributes{b: data[unix.SizeofIfAddrmsg:]}
	for a.next() {
		switch a.typ {
		case unix.IFA_ADDRESS:
			addr, _ = netip.AddrFromSlice(a.data())
		case unix.IFA_LOCAL:
			local, _ = netip.AddrFromSlice(a.data())
		}
	}
	if err := a.failure(o.Kind); err != nil {
		return err
	}
	// An address's own address is IFA_LOCAL; IFA_ADDRESS is the peer on
	// point-to-point links.
	if local.IsValid() {
		addr = local
	}
	return setPrefix(o, addr, int(h.Prefixlen))
}

func decodeRoute(o *Object, data []byte) error {
	h := load[unix.RtMsg](data)
	o.Table = uint32(h.Table)
	if len(data) == unix.SizeofRtMsg {
		return nil
	}
	var dst netip.Addr
	a := attributes{b: data[unix.SizeofRtMsg:]}
	for a.next() {
		switch a.typ {
		case unix.RTA_DST:
			dst, _ = netip.AddrFromSlice(a.data())
		case unix.RTA_TABLE:
			// Tables above 255 exist only here.
			o.Table = a.uint32()
		case unix.RTA_OIF:
			o.Index = int32(a.uint32())
		}
	}
	if err := a.failure(o.Kind); err != nil {
		return err
	}
	// A default route has no RTA_DST.
	if !dst.IsValid() && o.Kind == Route4 {
		dst = netip.IPv4Unspecified()
	}
	if !dst.IsValid() && o.Kind == Route6 {
		dst = netip.IPv6Unspecified()
	}
	return setPrefix(o, dst, int(h.Dst_len))
}

func decodeNeigh(o *Object, data []byte) error {
	o.Index = load[unix.NdMsg](data).Ifindex
	if len(data) == unix.SizeofNdMsg {
		return nil
	}
	var dst netip.Addr
	a := attributes{b: data[unix.SizeofNdMsg:]}
	for a.next() {
		if a.typ == unix.NDA_DST {
			dst, _ = netip.AddrFromSlice(a.data())
		}
	}
	if err := a.failure(o.Kind); err != nil {
		return err
	}
	return setPrefix(o, dst, dst.BitLen())
}

func decodeNexthop(o *Object, data []byte) error {
	a := attributes{b: data[unix.SizeofNhmsg:]}
	for a.next() {
		switch a.typ {
		case unix.NHA_ID:
			o.ID = a.uint32()
		case unix.NHA_OIF:
			o.Index = int32(a.uint32())
		}
	}
	return a.failure(o.Kind)
}

// decodeStats keeps the device only: the counters change all the time and
// say nothing about a dump's consistency.
func decodeStats(o *Object, data []byte) error {
	o.Index = int32(load[ifStatsMsg](data).Ifindex)
	return nil
}

// setPrefix keeps the address itself with the header's prefix length, not
// the network: two addresses of one subnet are two objects.
func setPrefix(o *Object, addr netip.Addr, bits int) error {
	if !addr.IsValid() {
		return nil
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return fmt.Errorf("%v prefix %v/%d: %w", o.Kind, addr, bits, err)
	}
	o.Prefix = netip.PrefixFrom(addr, p.Bits())
	return nil
}
