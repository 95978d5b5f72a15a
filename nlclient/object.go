package nlclient

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// Object is the minimal decoded form of one dumped message: enough to name
// it and to tell whether a dump missed or repeated it.
type Object struct {
	Kind   Kind         `json:"kind"`
	Index  int32        `json:"ifindex,omitempty"` // the device: its own index, or the route's or nexthop's output device
	Name   string       `json:"name,omitempty"`    // links
	Prefix netip.Prefix `json:"prefix,omitzero"`   // addresses, route destinations, neighbours
	Table  uint32       `json:"table,omitempty"`   // routes
	ID     uint32       `json:"id,omitempty"`      // nexthops
}

// Key identifies an object across dumps: what stays the same while it
// exists (a link's index, not its name, which a rename changes).
type Key struct {
	Kind   Kind
	Index  int32
	Prefix netip.Prefix
	Table  uint32
	ID     uint32
}

// Key returns the object's identity.
func (o Object) Key() Key {
	k := Key{Kind: o.Kind, Index: o.Index, Prefix: o.Prefix, Table: o.Table, ID: o.ID}
	if o.Kind == Route4 || o.Kind == Route6 {
		k.Index = 0 // a route is its table and destination
	}
	return k
}

func (k Key) String() string {
	switch k.Kind {
	case Link, Stats:
		return fmt.Sprintf("%v ifindex %d", k.Kind, k.Index)
	case Addr4, Addr6, Neigh:
		return fmt.Sprintf("%v %v on ifindex %d", k.Kind, k.Prefix, k.Index)
	case Route4, Route6:
		return fmt.Sprintf("%v %v table %d", k.Kind, k.Prefix, k.Table)
	case Nexthop:
		return fmt.Sprintf("nexthop id %d", k.ID)
	}
	return fmt.Sprintf("%v", k.Kind)
}

// decode turns one reply message's payload into an Object. Fields that are
// missing stay zero; a header too short for its kind is an error.
func decode(k Kind, data []byte) (Object, error) {
	o := Object{Kind: k}
	var hdr int
	switch k {
	case Link:
		hdr = unix.SizeofIfInfomsg
	case Addr4, Addr6:
		hdr = unix.SizeofIfAddrmsg
	case Route4, Route6:
		hdr = unix.SizeofRtMsg
	case Neigh:
		hdr = unix.SizeofNdMsg
	case Nexthop:
		hdr = sizeofNhmsg
	case Stats:
		hdr = sizeofIfStatsMsg
	default:
		return o, fmt.Errorf("no decoder for %v", k)
	}
	if len(data) < hdr {
		return o, fmt.Errorf("%v message of %d bytes is shorter than its %d-byte header", k, len(data), hdr)
	}
	var bits int // prefix length from the fixed header
	switch k {
	case Link:
		o.Index = int32(binary.NativeEndian.Uint32(data[4:]))
	case Addr4, Addr6:
		bits = int(data[1])
		o.Index = int32(binary.NativeEndian.Uint32(data[4:]))
	case Route4, Route6:
		bits = int(data[1])
		o.Table = uint32(data[4])
	case Neigh:
		o.Index = int32(binary.NativeEndian.Uint32(data[4:]))
	case Stats:
		o.Index = int32(binary.NativeEndian.Uint32(data[4:]))
		return o, nil
	}
	if len(data) == hdr {
		return o, nil
	}
	ad := attributes{b: data[hdr:]}
	var addr, local netip.Addr
	for ad.next() {
		switch {
		case k == Link && ad.typ == unix.IFLA_IFNAME:
			o.Name = ad.string()
		case (k == Addr4 || k == Addr6) && ad.typ == unix.IFA_ADDRESS,
			(k == Route4 || k == Route6) && ad.typ == unix.RTA_DST,
			k == Neigh && ad.typ == unix.NDA_DST:
			addr, _ = netip.AddrFromSlice(ad.data)
		case (k == Addr4 || k == Addr6) && ad.typ == unix.IFA_LOCAL:
			local, _ = netip.AddrFromSlice(ad.data)
		case (k == Route4 || k == Route6) && ad.typ == unix.RTA_TABLE:
			o.Table = ad.uint32()
		case (k == Route4 || k == Route6) && ad.typ == unix.RTA_OIF:
			o.Index = int32(ad.uint32())
		case k == Nexthop && ad.typ == unix.NHA_ID:
			o.ID = ad.uint32()
		case k == Nexthop && ad.typ == unix.NHA_OIF:
			o.Index = int32(ad.uint32())
		}
	}
	if ad.err != nil {
		return o, fmt.Errorf("%v attributes: %w", k, ad.err)
	}
	// An IPv4 address's own address is IFA_LOCAL; IFA_ADDRESS is the peer on
	// point-to-point links.
	if local.IsValid() {
		addr = local
	}
	if k == Route4 && !addr.IsValid() {
		addr = netip.IPv4Unspecified()
	}
	if k == Route6 && !addr.IsValid() {
		addr = netip.IPv6Unspecified()
	}
	if addr.IsValid() {
		if k == Neigh {
			bits = addr.BitLen()
		}
		p, err := addr.Prefix(bits)
		if err != nil {
			return o, fmt.Errorf("%v prefix %v/%d: %w", k, addr, bits, err)
		}
		// Keep the address itself, not the network: two addresses of one
		// subnet are two objects.
		o.Prefix = netip.PrefixFrom(addr, p.Bits())
	}
	return o, nil
}
