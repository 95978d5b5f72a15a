package monitor

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"unsafe"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/nlclient"
)

// message is one netlink message of a datagram.
type message struct {
	typ, flags uint16
	portID     uint32
	data       []byte // the payload, after the header
}

// split cuts a datagram into its messages.
func split(b []byte) ([]message, error) {
	var msgs []message
	for len(b) > 0 {
		if len(b) < unix.SizeofNlMsghdr {
			return msgs, fmt.Errorf("%d trailing bytes, shorter than a netlink header", len(b))
		}
		h := load[unix.NlMsghdr](b)
		if int(h.Len) < unix.SizeofNlMsghdr || int(h.Len) > len(b) {
			return msgs, fmt.Errorf("netlink message length %d with %d bytes left", h.Len, len(b))
		}
		msgs = append(msgs, message{typ: h.Type, flags: h.Flags, portID: h.Pid, data: b[unix.SizeofNlMsghdr:h.Len]})
		b = b[min(nlmAlign(int(h.Len)), len(b)):]
	}
	return msgs, nil
}

func nlmAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// load returns the structure at the start of b, which the caller checked
// holds one (a copy: b need not be aligned for T).
func load[T any](b []byte) T {
	var h T
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&h)), unsafe.Sizeof(h)), b)
	return h
}

// headerSize is the fixed header each kind's messages start with.
var headerSize = map[nlclient.Kind]int{
	nlclient.Link: unix.SizeofIfInfomsg, nlclient.Addr4: unix.SizeofIfAddrmsg, nlclient.Addr6: unix.SizeofIfAddrmsg,
	nlclient.Route4: unix.SizeofRtMsg, nlclient.Route6: unix.SizeofRtMsg, nlclient.Neigh: unix.SizeofNdMsg,
	nlclient.Nexthop: unix.SizeofNhmsg,
}

// parse decodes one notification. ok is false for a message of no kind
// the monitor knows (the caller skips it).
func parse(m message) (e Event, ok bool, err error) {
	if len(m.data) < 1 {
		return e, false, nil
	}
	e.Kind = kindOf(m.typ, m.data[0])
	if e.Kind == 0 {
		return e, false, nil
	}
	if len(m.data) < headerSize[e.Kind] {
		return e, false, fmt.Errorf("%v message of %d bytes is shorter than its %d-byte header", e.Kind, len(m.data), headerSize[e.Kind])
	}
	e.Action, e.PortID, e.NetNSID = New, m.portID, NSIDCurrent
	switch m.typ {
	case unix.RTM_DELLINK, unix.RTM_DELADDR, unix.RTM_DELROUTE, unix.RTM_DELNEIGH, unix.RTM_DELNEXTHOP:
		e.Action = Del
	}
	ad, err := netlink.NewAttributeDecoder(m.data[nlmAlign(headerSize[e.Kind]):])
	if err != nil {
		return e, false, fmt.Errorf("%v message: %w", e.Kind, err)
	}
	ad.ByteOrder = binary.NativeEndian
	var details []string
	switch e.Kind {
	case nlclient.Link:
		details = parseLink(&e, load[unix.IfInfomsg](m.data), ad)
	case nlclient.Addr4, nlclient.Addr6:
		details = parseAddr(&e, load[unix.IfAddrmsg](m.data), ad)
	case nlclient.Route4, nlclient.Route6:
		details = parseRoute(&e, load[unix.RtMsg](m.data), ad)
	case nlclient.Neigh:
		details = parseNeigh(&e, load[unix.NdMsg](m.data), ad)
	case nlclient.Nexthop:
		details = parseNexthop(&e, load[unix.Nhmsg](m.data), ad)
	}
	if err := ad.Err(); err != nil {
		return e, false, fmt.Errorf("%v message: %w", e.Kind, err)
	}
	e.Details = strings.Join(details, " ")
	return e, true, nil
}

// rtaNHID is RTA_NH_ID (linux/rtnetlink.h), which x/sys lacks: a route
// through a nexthop object names it.
const rtaNHID = 30

// allChanged is the ifi_change of a link's first announcement: the kernel
// says "every flag changed" when a device is registered (or arrives from
// another namespace), and names the flags that changed otherwise.
const allChanged = 0xffffffff

func parseLink(e *Event, h unix.IfInfomsg, ad *netlink.AttributeDecoder) []string {
	e.Ifindex = h.Index
	if e.Action == New && h.Change != allChanged {
		e.Action = Changed
	}
	e.State = linkState(h.Flags)
	var details []string
	for ad.Next() {
		switch ad.Type() {
		case unix.IFLA_IFNAME:
			e.Ifname = ad.String()
		case unix.IFLA_MTU:
			details = append(details, fmt.Sprintf("mtu %d", ad.Uint32()))
		}
	}
	return details
}

func linkState(flags uint32) []string {
	state := []string{"DOWN"}
	if flags&unix.IFF_UP != 0 {
		state[0] = "UP"
	}
	if flags&unix.IFF_RUNNING != 0 {
		state = append(state, "RUNNING")
	}
	if flags&unix.IFF_LOWER_UP != 0 {
		state = append(state, "LOWER_UP")
	}
	return state
}

func parseAddr(e *Event, h unix.IfAddrmsg, ad *netlink.AttributeDecoder) []string {
	e.Ifindex = int32(h.Index)
	var addr, local netip.Addr
	flags := uint32(h.Flags)
	for ad.Next() {
		switch ad.Type() {
		case unix.IFA_ADDRESS:
			addr, _ = netip.AddrFromSlice(ad.Bytes())
		case unix.IFA_LOCAL:
			local, _ = netip.AddrFromSlice(ad.Bytes())
		case unix.IFA_FLAGS:
			flags = ad.Uint32()
		}
	}
	// An address's own address is IFA_LOCAL; IFA_ADDRESS is the peer on
	// point-to-point links.
	if local.IsValid() {
		addr = local
	}
	e.Prefix = prefix(addr, int(h.Prefixlen))
	details := []string{"scope " + scopeName(h.Scope)}
	for _, f := range addrFlags {
		if flags&f.bit != 0 {
			details = append(details, f.name)
		}
	}
	return details
}

var addrFlags = []struct {
	bit  uint32
	name string
}{
	{unix.IFA_F_SECONDARY, "secondary"}, {unix.IFA_F_NODAD, "nodad"}, {unix.IFA_F_TENTATIVE, "tentative"},
	{unix.IFA_F_DADFAILED, "dadfailed"}, {unix.IFA_F_DEPRECATED, "deprecated"}, {unix.IFA_F_PERMANENT, "permanent"},
}

func scopeName(s uint8) string {
	switch s {
	case unix.RT_SCOPE_UNIVERSE:
		return "global"
	case unix.RT_SCOPE_SITE:
		return "site"
	case unix.RT_SCOPE_LINK:
		return "link"
	case unix.RT_SCOPE_HOST:
		return "host"
	case unix.RT_SCOPE_NOWHERE:
		return "nowhere"
	}
	return fmt.Sprint(s)
}

func parseRoute(e *Event, h unix.RtMsg, ad *netlink.AttributeDecoder) []string {
	e.Table = uint32(h.Table)
	var dst, gw netip.Addr
	var metric uint32
	var nhid uint32
	for ad.Next() {
		switch ad.Type() {
		case unix.RTA_DST:
			dst, _ = netip.AddrFromSlice(ad.Bytes())
		case unix.RTA_TABLE:
			// Tables above 255 exist only here.
			e.Table = ad.Uint32()
		case unix.RTA_OIF:
			e.Ifindex = int32(ad.Uint32())
		case unix.RTA_GATEWAY:
			gw, _ = netip.AddrFromSlice(ad.Bytes())
		case unix.RTA_PRIORITY:
			metric = ad.Uint32()
		case rtaNHID:
			nhid = ad.Uint32()
		}
	}
	// A default route has no RTA_DST.
	if !dst.IsValid() && h.Family == unix.AF_INET {
		dst = netip.IPv4Unspecified()
	}
	if !dst.IsValid() && h.Family == unix.AF_INET6 {
		dst = netip.IPv6Unspecified()
	}
	e.Prefix = prefix(dst, int(h.Dst_len))
	var details []string
	if h.Type != unix.RTN_UNICAST {
		details = append(details, "type "+routeType(h.Type))
	}
	details = append(details, "table "+tableName(e.Table))
	if gw.IsValid() {
		details = append(details, "via "+gw.String())
	}
	if nhid != 0 {
		details = append(details, fmt.Sprintf("nhid %d", nhid))
	}
	details = append(details, "proto "+protoName(h.Protocol))
	if metric != 0 {
		details = append(details, fmt.Sprintf("metric %d", metric))
	}
	return details
}

func routeType(t uint8) string {
	names := map[uint8]string{
		unix.RTN_LOCAL: "local", unix.RTN_BROADCAST: "broadcast", unix.RTN_ANYCAST: "anycast",
		unix.RTN_MULTICAST: "multicast", unix.RTN_BLACKHOLE: "blackhole", unix.RTN_UNREACHABLE: "unreachable",
		unix.RTN_PROHIBIT: "prohibit", unix.RTN_THROW: "throw",
	}
	if n, ok := names[t]; ok {
		return n
	}
	return fmt.Sprint(t)
}

func tableName(t uint32) string {
	switch t {
	case unix.RT_TABLE_MAIN:
		return "main"
	case unix.RT_TABLE_LOCAL:
		return "local"
	case unix.RT_TABLE_DEFAULT:
		return "default"
	}
	return fmt.Sprint(t)
}

func protoName(p uint8) string {
	names := map[uint8]string{
		unix.RTPROT_KERNEL: "kernel", unix.RTPROT_BOOT: "boot", unix.RTPROT_STATIC: "static",
		unix.RTPROT_RA: "ra", unix.RTPROT_DHCP: "dhcp", unix.RTPROT_UNSPEC: "unspec",
	}
	if n, ok := names[p]; ok {
		return n
	}
	return fmt.Sprint(p)
}

func parseNeigh(e *Event, h unix.NdMsg, ad *netlink.AttributeDecoder) []string {
	e.Ifindex = h.Ifindex
	var details []string
	var dst netip.Addr
	for ad.Next() {
		switch ad.Type() {
		case unix.NDA_DST:
			dst, _ = netip.AddrFromSlice(ad.Bytes())
		case unix.NDA_LLADDR:
			details = append(details, "lladdr "+net.HardwareAddr(ad.Bytes()).String())
		}
	}
	e.Prefix = prefix(dst, dst.BitLen())
	return append(details, neighState(h.State)...)
}

var neighStates = []struct {
	bit  uint16
	name string
}{
	{unix.NUD_INCOMPLETE, "INCOMPLETE"}, {unix.NUD_REACHABLE, "REACHABLE"}, {unix.NUD_STALE, "STALE"},
	{unix.NUD_DELAY, "DELAY"}, {unix.NUD_PROBE, "PROBE"}, {unix.NUD_FAILED, "FAILED"},
	{unix.NUD_NOARP, "NOARP"}, {unix.NUD_PERMANENT, "PERMANENT"},
}

func neighState(s uint16) []string {
	var names []string
	for _, st := range neighStates {
		if s&st.bit != 0 {
			names = append(names, st.name)
		}
	}
	return names
}

func parseNexthop(e *Event, h unix.Nhmsg, ad *netlink.AttributeDecoder) []string {
	var details []string
	for ad.Next() {
		switch ad.Type() {
		case unix.NHA_ID:
			e.ID = ad.Uint32()
		case unix.NHA_OIF:
			e.Ifindex = int32(ad.Uint32())
		case unix.NHA_BLACKHOLE:
			details = append(details, "blackhole")
		case unix.NHA_GATEWAY:
			if gw, ok := netip.AddrFromSlice(ad.Bytes()); ok {
				details = append(details, "via "+gw.Unmap().String())
			}
		case unix.NHA_GROUP:
			details = append(details, fmt.Sprintf("group of %d", len(ad.Bytes())/8))
		}
	}
	return append(details, "proto "+protoName(h.Protocol))
}

// prefix keeps the address itself with its prefix length (not the
// network); the zero Prefix for no address.
func prefix(addr netip.Addr, bits int) netip.Prefix {
	if !addr.IsValid() || bits < 0 || bits > addr.BitLen() {
		return netip.Prefix{}
	}
	return netip.PrefixFrom(addr, bits)
}
