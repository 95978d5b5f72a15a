package nlclient

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/netns"
)

// bufferSize holds any datagram a dump sends: the kernel sizes dump chunks
// by the reader's buffer but caps them at 32 KiB (larger only for objects
// that do not fit, which it then sends alone).
const bufferSize = 64 << 10

// Client is one rtnetlink socket in one network namespace. A Client runs one
// request at a time; use one Client per concurrent dumper.
type Client struct {
	mu     sync.Mutex
	target Target
	dial   func() (socket, uint64, error)
	sock   socket
	inode  uint64
	buf    []byte
	// stale is set when a dump ended before NLMSG_DONE: the socket may still
	// hold the rest, and the kernel refuses a new dump on it (EBUSY) until it
	// is read, so the next request opens a fresh socket.
	stale bool
	// lastObjects is the object count of the last complete dump of each
	// kind.
	lastObjects [len(kindTable)]int
}

// Dial opens an rtnetlink socket in the target's network namespace.
func Dial(t Target) (*Client, error) {
	c := &Client{target: t, buf: make([]byte, bufferSize), dial: func() (socket, uint64, error) { return dialNetlink(t) }}
	if err := c.open(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Client) open() error {
	sock, inode, err := c.dial()
	if err != nil {
		return err
	}
	c.sock, c.inode, c.stale = sock, inode, false
	return nil
}

func dialNetlink(t Target) (socket, uint64, error) {
	f, err := t.Open()
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	inode, err := netns.Inode(f)
	if err != nil {
		return nil, 0, err
	}
	var conn *netlink.Conn
	dial := func() (err error) {
		conn, err = netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{})
		return err
	}
	if t == (Target{}) {
		err = dial()
	} else {
		// Through netns.DoFile, not mdlayher/netlink's Config.NetNS: that
		// finds the thread's namespace by a TID that a PID namespace
		// without its own /proc hides, and then blames the kernel.
		err = netns.DoFile(f, dial)
	}
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			err = fmt.Errorf("%w (entering another network namespace needs root or CAP_SYS_ADMIN)", err)
		}
		return nil, 0, fmt.Errorf("open rtnetlink socket in netns %s: %w", t, err)
	}
	sock, err := newNetlinkSocket(conn)
	return sock, inode, err
}

// reopen replaces a socket that may still hold part of an abandoned dump.
func (c *Client) reopen() error {
	if !c.stale {
		return nil
	}
	c.sock.Close()
	return c.open()
}

// Close releases the socket.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sock.Close()
}

// PortID is the socket's netlink port id: every reply carries it, and the
// kernel's view of a dump (the eBPF probe) is joined to ours on it. It
// changes when a dump was abandoned and the socket replaced.
func (c *Client) PortID() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sock.PortID()
}

// NetNSInode names the namespace the socket lives in.
func (c *Client) NetNSInode() uint64 { return c.inode }

// Target is the namespace the client was opened for.
func (c *Client) Target() Target { return c.target }

// recv reads one datagram into c.buf and returns its length.
func (c *Client) recv() (int, error) {
	n, err := c.sock.Recv(c.buf)
	if err != nil {
		return 0, err
	}
	if n > len(c.buf) {
		return n, fmt.Errorf("%w: a datagram of %d bytes exceeds the %d-byte buffer", ErrTruncated, n, len(c.buf))
	}
	return n, nil
}
