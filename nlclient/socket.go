package nlclient

import (
	"fmt"
	"syscall"
	"time"
	"unsafe"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// socket is what a Client needs from a netlink socket; tests replay
// recorded and synthetic datagrams through it.
type socket interface {
	Send(m netlink.Message) (netlink.Message, error)
	Execute(m netlink.Message) ([]netlink.Message, error)
	// Recv reads one datagram into b and returns its full length, which
	// exceeds len(b) when the datagram did not fit.
	Recv(b []byte) (int, error)
	SetReadDeadline(t time.Time) error
	PortID() uint32
	Close() error
}

// netlinkSocket reads datagrams from a netlink.Conn's descriptor directly,
// one at a time, keeping their boundaries.
type netlinkSocket struct {
	*netlink.Conn
	raw syscall.RawConn

	// The receive closure and its results live here so that reading a
	// datagram does not allocate.
	buf    []byte
	n      int
	err    error
	readFn func(fd uintptr) bool
}

func newNetlinkSocket(conn *netlink.Conn) (*netlinkSocket, error) {
	// Extended acks carry the kernel's error text; kernels without them
	// still work, so a failure here is not one.
	_ = conn.SetOption(netlink.ExtendedAcknowledge, true)
	raw, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("rtnetlink socket: %w", err)
	}
	s := &netlinkSocket{Conn: conn, raw: raw}
	s.readFn = func(fd uintptr) bool {
		// MSG_TRUNC makes the kernel return the datagram's real length, so a
		// datagram larger than the buffer is detected rather than cut.
		n, _, errno := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&s.buf[0])),
			uintptr(len(s.buf)), unix.MSG_TRUNC, 0, 0)
		s.n, s.err = int(n), nil
		if errno != 0 {
			s.err = errno
		}
		return errno != unix.EAGAIN
	}
	return s, nil
}

func (s *netlinkSocket) Recv(b []byte) (int, error) {
	s.buf = b
	if err := s.raw.Read(s.readFn); err != nil {
		return 0, err
	}
	return s.n, s.err
}

func (s *netlinkSocket) PortID() uint32 { return s.Conn.PID() }
