package monitor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"unsafe"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/netns"
)

// From linux/netlink_diag.h, which x/sys lacks.
const (
	ndiagShowMeminfo   = 0x1 // NDIAG_SHOW_MEMINFO
	netlinkDiagMeminfo = 0   // NETLINK_DIAG_MEMINFO: u32[SK_MEMINFO_VARS]
)

// netlinkDiagReq is struct netlink_diag_req.
type netlinkDiagReq struct {
	Family   uint8
	Protocol uint8
	_        uint16
	Ino      uint32
	Show     uint32
	Cookie   [2]uint32
}

// netlinkDiagMsg is struct netlink_diag_msg.
type netlinkDiagMsg struct {
	Family    uint8
	Type      uint8
	Protocol  uint8
	State     uint8
	PortID    uint32
	DstPortID uint32
	DstGroup  uint32
	Ino       uint32
	Cookie    [2]uint32
}

// sockInfo is what sock_diag says of one rtnetlink socket.
type sockInfo struct {
	inode uint64
	drops int64 // -1 unless asked for
}

// diag is a NETLINK_SOCK_DIAG socket. sock_diag lists the sockets of its
// own namespace only, so there is one per namespace that events come from.
type diag struct{ conn *netlink.Conn }

// dialDiag opens a sock_diag socket in ns (nil: the caller's namespace).
func dialDiag(ns *os.File) (*diag, error) {
	var conn *netlink.Conn
	dial := func() (err error) {
		conn, err = netlink.Dial(unix.NETLINK_SOCK_DIAG, &netlink.Config{})
		return err
	}
	var err error
	if ns == nil {
		err = dial()
	} else {
		err = netns.DoFile(ns, dial)
	}
	if err != nil {
		return nil, fmt.Errorf("open sock_diag socket: %w", err)
	}
	return &diag{conn: conn}, nil
}

// sockets lists the namespace's rtnetlink sockets by port id; with
// meminfo, their drop counters too.
func (d *diag) sockets(meminfo bool) (map[uint32]sockInfo, error) {
	req := netlinkDiagReq{Family: unix.AF_NETLINK, Protocol: unix.NETLINK_ROUTE}
	if meminfo {
		req.Show = ndiagShowMeminfo
	}
	msgs, err := d.conn.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.SOCK_DIAG_BY_FAMILY, Flags: netlink.Request | netlink.Dump},
		Data:   unsafe.Slice((*byte)(unsafe.Pointer(&req)), unsafe.Sizeof(req)),
	})
	if errors.Is(err, unix.ENOENT) {
		// The kernel has sock_diag but no netlink_diag loaded or built.
		return nil, errors.New("sock_diag cannot list netlink sockets: load netlink_diag (CONFIG_NETLINK_DIAG)")
	}
	if err != nil {
		return nil, fmt.Errorf("list netlink sockets with sock_diag: %w", err)
	}
	socks := make(map[uint32]sockInfo, len(msgs))
	for _, m := range msgs {
		if len(m.Data) < int(unsafe.Sizeof(netlinkDiagMsg{})) {
			continue
		}
		h := load[netlinkDiagMsg](m.Data)
		info := sockInfo{inode: uint64(h.Ino), drops: -1}
		if meminfo {
			info.drops = drops(m.Data[unsafe.Sizeof(h):])
		}
		socks[h.PortID] = info
	}
	return socks, nil
}

// drops reads SK_MEMINFO_DROPS from a reply's attributes, -1 when absent.
func drops(attrs []byte) int64 {
	ad, err := netlink.NewAttributeDecoder(attrs)
	if err != nil {
		return -1
	}
	for ad.Next() {
		if b := ad.Bytes(); ad.Type() == netlinkDiagMeminfo && len(b) >= 4*(unix.SK_MEMINFO_DROPS+1) {
			return int64(binary.NativeEndian.Uint32(b[4*unix.SK_MEMINFO_DROPS:]))
		}
	}
	return -1
}

func (d *diag) close() error { return d.conn.Close() }

// CheckWriters says whether this kernel lets the monitor name writing
// processes: sock_diag must list netlink sockets (netlink_diag, a module
// on many distribution kernels, loaded on first use where modules can be).
func CheckWriters() error {
	d, err := dialDiag(nil)
	if err != nil {
		return err
	}
	defer d.close()
	_, err = d.sockets(false)
	return err
}
