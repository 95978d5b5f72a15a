package nlclient

import (
	"fmt"
	"net/netip"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// The requests below change the namespace's tables: the churn engine and
// the tests build and disturb their namespaces with them, never with ip(8).

// AddLink creates a link of the given kind ("dummy", "veth", ...). For veth,
// peer names the other end; both ends stay in the client's namespace.
func (c *Client) AddLink(name, kind, peer string) error {
	ae := netlink.NewAttributeEncoder()
	ae.String(unix.IFLA_IFNAME, name)
	ae.Nested(unix.IFLA_LINKINFO, func(nae *netlink.AttributeEncoder) error {
		nae.String(unix.IFLA_INFO_KIND, kind)
		if kind == "veth" {
			nae.Nested(unix.IFLA_INFO_DATA, func(dae *netlink.AttributeEncoder) error {
				dae.Do(vethInfoPeer, func() ([]byte, error) {
					pae := netlink.NewAttributeEncoder()
					pae.String(unix.IFLA_IFNAME, peer)
					attrs, err := pae.Encode()
					return append(bytesOf(&unix.IfInfomsg{}), attrs...), err
				})
				return nil
			})
		}
		return nil
	})
	return c.change("add "+kind+" link "+name, unix.RTM_NEWLINK, netlink.Create|netlink.Excl, ifinfo(0, 0, 0), ae)
}

// DeleteLink deletes a link (for veth, both ends).
func (c *Client) DeleteLink(index int32) error {
	return c.change(fmt.Sprintf("delete link %d", index), unix.RTM_DELLINK, 0, ifinfo(index, 0, 0), nil)
}

// SetLinkUp brings a link up or down.
func (c *Client) SetLinkUp(index int32, up bool) error {
	var flags uint32
	if up {
		flags = unix.IFF_UP
	}
	return c.change(fmt.Sprintf("set link %d up=%v", index, up), unix.RTM_NEWLINK, 0, ifinfo(index, flags, unix.IFF_UP), nil)
}

// MoveLink moves a link into the namespace open as nsFD.
func (c *Client) MoveLink(index int32, nsFD int) error {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(unix.IFLA_NET_NS_FD, uint32(nsFD))
	return c.change(fmt.Sprintf("move link %d to another namespace", index), unix.RTM_NEWLINK, 0, ifinfo(index, 0, 0), ae)
}

// LinkIndex returns the index of the named link.
func (c *Client) LinkIndex(name string) (int32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.reopen(); err != nil {
		return 0, err
	}
	ae := netlink.NewAttributeEncoder()
	ae.String(unix.IFLA_IFNAME, name)
	attrs, err := ae.Encode()
	if err != nil {
		return 0, err
	}
	msgs, err := c.sock.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETLINK, Flags: netlink.Request},
		Data:   append(ifinfo(0, 0, 0), attrs...),
	})
	if err != nil {
		return 0, fmt.Errorf("look up link %s: %w", name, err)
	}
	if len(msgs) != 1 || len(msgs[0].Data) < unix.SizeofIfInfomsg {
		return 0, fmt.Errorf("look up link %s: unexpected reply", name)
	}
	return load[unix.IfInfomsg](msgs[0].Data).Index, nil
}

// AddAddr adds an address to a link. IPv6 addresses skip duplicate address
// detection so that they are usable at once; the kernel still completes it
// from a worker, which bumps the IPv6 generation counter a second time (the
// probe's tests see it).
func (c *Client) AddAddr(index int32, p netip.Prefix) error {
	return c.addr(unix.RTM_NEWADDR, netlink.Create|netlink.Excl, index, p)
}

// DeleteAddr removes an address from a link.
func (c *Client) DeleteAddr(index int32, p netip.Prefix) error {
	return c.addr(unix.RTM_DELADDR, 0, index, p)
}

func (c *Client) addr(typ uint16, flags netlink.HeaderFlags, index int32, p netip.Prefix) error {
	h := unix.IfAddrmsg{Family: unix.AF_INET, Prefixlen: uint8(p.Bits()), Index: uint32(index)}
	if p.Addr().Is6() {
		h.Family, h.Flags = unix.AF_INET6, unix.IFA_F_NODAD
	}
	ae := netlink.NewAttributeEncoder()
	ae.Bytes(unix.IFA_LOCAL, p.Addr().AsSlice())
	ae.Bytes(unix.IFA_ADDRESS, p.Addr().AsSlice())
	op := "add"
	if typ == unix.RTM_DELADDR {
		op = "delete"
	}
	return c.change(fmt.Sprintf("%s address %v on link %d", op, p, index), typ, flags, bytesOf(&h), ae)
}

// AddNeigh adds a permanent IPv4 or IPv6 neighbour entry on a link, with a
// link-layer address made from the IP address. Neighbour tables have no
// generation counter: their dumps are never flagged.
func (c *Client) AddNeigh(index int32, ip netip.Addr) error {
	return c.neigh(unix.RTM_NEWNEIGH, netlink.Create|netlink.Excl, index, ip)
}

// DeleteNeigh removes a neighbour entry.
func (c *Client) DeleteNeigh(index int32, ip netip.Addr) error {
	return c.neigh(unix.RTM_DELNEIGH, 0, index, ip)
}

func (c *Client) neigh(typ uint16, flags netlink.HeaderFlags, index int32, ip netip.Addr) error {
	h := unix.NdMsg{Family: unix.AF_INET, Ifindex: index, State: unix.NUD_PERMANENT}
	if ip.Is6() {
		h.Family = unix.AF_INET6
	}
	b := ip.AsSlice()
	ae := netlink.NewAttributeEncoder()
	ae.Bytes(unix.NDA_DST, b)
	// A locally administered unicast address ending in the IP's last four
	// bytes: unique per entry, never a real device's.
	ae.Bytes(unix.NDA_LLADDR, []byte{0x02, 0x00, b[len(b)-4], b[len(b)-3], b[len(b)-2], b[len(b)-1]})
	op := "add"
	if typ == unix.RTM_DELNEIGH {
		op = "delete"
	}
	return c.change(fmt.Sprintf("%s neighbour %v on link %d", op, ip, index), typ, flags, bytesOf(&h), ae)
}

// AddNexthop adds a blackhole nexthop, which needs no device.
func (c *Client) AddNexthop(id uint32) error {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(unix.NHA_ID, id)
	ae.Flag(unix.NHA_BLACKHOLE, true)
	// The kernel wants a family even for a blackhole.
	hdr := bytesOf(&unix.Nhmsg{Family: unix.AF_INET})
	return c.change(fmt.Sprintf("add nexthop %d", id), unix.RTM_NEWNEXTHOP, netlink.Create|netlink.Excl, hdr, ae)
}

// DeleteNexthop removes a nexthop.
func (c *Client) DeleteNexthop(id uint32) error {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(unix.NHA_ID, id)
	return c.change(fmt.Sprintf("delete nexthop %d", id), unix.RTM_DELNEXTHOP, 0, bytesOf(&unix.Nhmsg{}), ae)
}

// change sends one acknowledged request and returns the kernel's verdict.
func (c *Client) change(op string, typ uint16, flags netlink.HeaderFlags, hdr []byte, ae *netlink.AttributeEncoder) error {
	data := hdr
	if ae != nil {
		attrs, err := ae.Encode()
		if err != nil {
			return fmt.Errorf("%s: encode: %w", op, err)
		}
		data = append(hdr, attrs...)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.reopen(); err != nil {
		return err
	}
	_, err := c.sock.Execute(netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(typ), Flags: netlink.Request | netlink.Acknowledge | flags},
		Data:   data,
	})
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

func ifinfo(index int32, flags, change uint32) []byte {
	return bytesOf(&unix.IfInfomsg{Index: index, Flags: flags, Change: change})
}

// vethInfoPeer is VETH_INFO_PEER from linux/veth.h, which x/sys lacks.
const vethInfoPeer = 1
