package monitor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/netns"
)

var errNamespaceGone = errors.New("netns gone")

// nsids finds, for --all-netns, the namespace behind an nsid: the
// namespaces bound under /run/netns and those of running processes, each
// asked for its id in the monitored namespace (RTM_GETNSID). Found
// namespaces are remembered by path and inode, never kept open.
type nsids struct {
	conn    *netlink.Conn // rtnetlink, in the monitored namespace
	dir     string        // /run/netns
	proc    string        // /proc
	found   map[int32]*space
	scanned time.Time
}

// lookup returns the namespace with id nsid; for an id not yet seen it
// scans again, unless the last scan is newer than the event. A namespace
// not found is returned unresolved (no path), so that events still name
// the id.
func (n *nsids) lookup(nsid int32, t time.Time) *space {
	if s, ok := n.found[nsid]; ok && (s.path != "" || n.scanned.After(t)) {
		return s
	}
	n.scan()
	if s, ok := n.found[nsid]; ok {
		return s
	}
	s := &space{nsid: nsid}
	n.found[nsid] = s
	return s
}

// scan asks the id of every candidate namespace: named ones first, so that
// a namespace both named and used by a process keeps its name.
func (n *nsids) scan() {
	n.scanned = time.Now()
	var paths []string
	if entries, err := os.ReadDir(n.dir); err == nil {
		for _, e := range entries {
			paths = append(paths, filepath.Join(n.dir, e.Name()))
		}
	}
	if entries, err := os.ReadDir(n.proc); err == nil {
		for _, e := range entries {
			if _, err := strconv.Atoi(e.Name()); err == nil {
				paths = append(paths, filepath.Join(n.proc, e.Name(), "ns/net"))
			}
		}
	}
	seen := map[uint64]bool{}
	for _, path := range paths {
		var st unix.Stat_t
		if unix.Stat(path, &st) != nil || seen[st.Ino] {
			continue
		}
		seen[st.Ino] = true
		if s := n.known(st.Ino); s != nil {
			continue
		}
		nsid, err := n.idOf(path)
		if err != nil || nsid < 0 {
			continue
		}
		s := &space{nsid: nsid, path: path, inode: st.Ino}
		if filepath.Dir(path) == n.dir {
			s.name = filepath.Base(path)
		}
		n.found[nsid] = s
	}
}

func (n *nsids) known(ino uint64) *space {
	for _, s := range n.found {
		if s.inode == ino && s.path != "" {
			return s
		}
	}
	return nil
}

// idOf asks the monitored namespace for the id it gives the namespace at
// path; -1 (NETNSA_NSID_NOT_ASSIGNED) when it gives none.
func (n *nsids) idOf(path string) (int32, error) {
	f, err := netns.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(unix.NETNSA_FD, uint32(f.Fd()))
	attrs, err := ae.Encode()
	if err != nil {
		return 0, err
	}
	// struct rtgenmsg, padded to 4 bytes.
	msgs, err := n.conn.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETNSID, Flags: netlink.Request},
		Data:   append([]byte{unix.AF_UNSPEC, 0, 0, 0}, attrs...),
	})
	if err != nil {
		return 0, fmt.Errorf("ask the id of namespace %s: %w", path, err)
	}
	for _, m := range msgs {
		if len(m.Data) < 4 {
			continue
		}
		ad, err := netlink.NewAttributeDecoder(m.Data[4:])
		if err != nil {
			return 0, err
		}
		ad.ByteOrder = binary.NativeEndian
		for ad.Next() {
			if ad.Type() == unix.NETNSA_NSID {
				return int32(ad.Uint32()), nil
			}
		}
	}
	return -1, nil
}
