package nlclient

import (
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// AddBlackholeNexthop adds a blackhole nexthop of an address family. The
// kernel refuses AF_UNSPEC for anything but groups ("Invalid address
// family"), which AddNexthop sends; the churn engine uses this instead.
func (c *Client) AddBlackholeNexthop(id uint32) error {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(unix.NHA_ID, id)
	ae.Flag(unix.NHA_BLACKHOLE, true)
	hdr := make([]byte, sizeofNhmsg)
	hdr[0] = unix.AF_INET
	return c.change(fmt.Sprintf("add nexthop %d", id), unix.RTM_NEWNEXTHOP, netlink.Create|netlink.Excl, hdr, ae)
}
