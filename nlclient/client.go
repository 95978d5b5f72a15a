package nlclient

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/netns"
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
	conn   *netlink.Conn
	raw    syscall.RawConn
	portID uint32
	inode  uint64
	buf    []byte
	// stale is set when a dump ended before NLMSG_DONE: the socket may still
	// hold the rest, and the kernel refuses a new dump on it (EBUSY) until it
	// is read, so the next request opens a fresh socket.
	stale bool

	// The receive closure and its results live here so that reading a
	// datagram does not allocate.
	n      int
	rerr   error
	readFn func(fd uintptr) bool
}

// Dial opens an rtnetlink socket in the target's network namespace.
func Dial(t Target) (*Client, error) {
	c := &Client{target: t, buf: make([]byte, bufferSize)}
	c.readFn = func(fd uintptr) bool {
		// MSG_TRUNC makes the kernel return the datagram's real length, so a
		// datagram larger than the buffer is detected rather than cut.
		n, _, errno := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&c.buf[0])),
			uintptr(len(c.buf)), unix.MSG_TRUNC, 0, 0)
		c.n, c.rerr = int(n), nil
		if errno != 0 {
			c.rerr = errno
		}
		return errno != unix.EAGAIN
	}
	if err := c.open(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Client) open() error {
	f, err := c.target.open()
	if err != nil {
		return err
	}
	defer f.Close()
	inode, err := netns.Inode(f)
	if err != nil {
		return err
	}
	cfg := &netlink.Config{}
	if c.target != (Target{}) {
		cfg.NetNS = int(f.Fd())
	}
	conn, err := netlink.Dial(unix.NETLINK_ROUTE, cfg)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			err = fmt.Errorf("%w (entering another network namespace needs root or CAP_SYS_ADMIN)", err)
		}
		return fmt.Errorf("open rtnetlink socket in netns %s: %w", c.target, err)
	}
	// Extended acks carry the kernel's error text; kernels without them
	// still work, so a failure here is not one.
	_ = conn.SetOption(netlink.ExtendedAcknowledge, true)
	raw, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return fmt.Errorf("rtnetlink socket: %w", err)
	}
	c.conn, c.raw, c.portID, c.inode, c.stale = conn, raw, conn.PID(), inode, false
	return nil
}

// reopen replaces a socket that may still hold part of an abandoned dump.
func (c *Client) reopen() error {
	if !c.stale {
		return nil
	}
	c.conn.Close()
	return c.open()
}

// Close releases the socket.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn.Close()
}

// PortID is the socket's netlink port id: every reply carries it, and the
// kernel's view of a dump (the eBPF probe) is joined to ours on it.
func (c *Client) PortID() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.portID
}

// NetNSInode names the namespace the socket lives in.
func (c *Client) NetNSInode() uint64 { return c.inode }

// Target is the namespace the client was opened for.
func (c *Client) Target() Target { return c.target }

// recv reads one datagram into c.buf and returns its length.
func (c *Client) recv() (int, error) {
	if err := c.raw.Read(c.readFn); err != nil {
		return 0, err
	}
	if c.rerr != nil {
		return 0, c.rerr
	}
	if c.n > len(c.buf) {
		return c.n, fmt.Errorf("%w: a datagram of %d bytes exceeds the %d-byte buffer", ErrTruncated, c.n, len(c.buf))
	}
	return c.n, nil
}
