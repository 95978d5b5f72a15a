package monitor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/rtsock"
	"github.com/nltrace/nltrace/nlclient"
)

// DefaultRcvBuf is the receive buffer the monitor asks for: room for tens
// of thousands of notifications (a link's is about 1.5 KB, an address's
// about 100 bytes), so that only a real burst or a stalled reader overruns.
const DefaultRcvBuf = 8 << 20

// datagramSize holds any notification: the kernel builds each one in a
// buffer of at most a page or NLMSG_GOODSIZE, far less than this.
const datagramSize = 64 << 10

// listener is the subscribed socket.
type listener struct {
	f      *os.File
	raw    syscall.RawConn
	portID uint32
	rcvbuf int // what the kernel granted (twice what was asked, as it counts overhead)

	buf, oob []byte
	// The receive closure and its results live here so that reading does
	// not allocate a closure per datagram.
	n, oobn int
	err     error
	readFn  func(fd uintptr) bool
	// wait is false for a read that must not wait (tryRecv).
	wait bool
}

// listen opens a rtnetlink socket in the namespace ns (nil: the caller's),
// subscribed to the kinds' groups.
func listen(ns *os.File, kinds []nlclient.Kind, allNSID bool, rcvbuf int) (*listener, error) {
	if rcvbuf == 0 {
		rcvbuf = DefaultRcvBuf
	}
	fd, portID, err := rtsock.Open(ns, unix.SOCK_NONBLOCK, rcvbuf)
	if err != nil {
		return nil, err
	}
	l := &listener{f: os.NewFile(uintptr(fd), "rtnetlink"), portID: portID, buf: make([]byte, datagramSize), oob: make([]byte, unix.CmsgSpace(4))}
	if err := l.setup(fd, kinds, allNSID); err != nil {
		l.f.Close()
		return nil, err
	}
	if l.raw, err = l.f.SyscallConn(); err != nil {
		l.f.Close()
		return nil, fmt.Errorf("rtnetlink socket: %w", err)
	}
	l.readFn = func(fd uintptr) bool {
		// MSG_TRUNC returns a datagram's real length, so one larger than
		// the buffer is detected rather than cut.
		var errno error
		l.n, l.oobn, _, _, errno = unix.Recvmsg(int(fd), l.buf, l.oob, unix.MSG_TRUNC)
		l.err = errno
		return !l.wait || !errors.Is(errno, unix.EAGAIN)
	}
	return l, nil
}

func (l *listener) setup(fd int, kinds []nlclient.Kind, allNSID bool) error {
	for _, k := range kinds {
		if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, int(groups[k])); err != nil {
			return fmt.Errorf("subscribe to %v notifications: %w", k, err)
		}
	}
	if allNSID {
		if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_LISTEN_ALL_NSID, 1); err != nil {
			return fmt.Errorf("listen to every namespace (NETLINK_LISTEN_ALL_NSID, kernel 4.20+, needs CAP_NET_BROADCAST): %w", err)
		}
	}
	var err error
	if l.rcvbuf, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF); err != nil {
		return fmt.Errorf("read the receive buffer size: %w", err)
	}
	return nil
}

// errOverrun is ENOBUFS: the socket dropped notifications.
var errOverrun = unix.ENOBUFS

// recv reads one datagram. It returns its bytes (valid until the next
// read), the nsid its control message carries (NSIDCurrent without one),
// and the time it was read. ENOBUFS (errOverrun) reports lost
// notifications; os.ErrDeadlineExceeded a stop.
func (l *listener) recv() ([]byte, int32, error) {
	l.wait = true
	return l.read()
}

// tryRecv is recv without waiting: EAGAIN when nothing is queued.
func (l *listener) tryRecv() ([]byte, int32, error) {
	l.wait = false
	return l.read()
}

func (l *listener) read() ([]byte, int32, error) {
	if err := l.raw.Read(l.readFn); err != nil {
		return nil, 0, err
	}
	if l.err != nil {
		return nil, 0, l.err
	}
	if l.n > len(l.buf) {
		return nil, 0, fmt.Errorf("a notification of %d bytes exceeds the %d-byte buffer", l.n, len(l.buf))
	}
	return l.buf[:l.n], nsidOf(l.oob[:l.oobn]), nil
}

// nsidOf reads NETLINK_LISTEN_ALL_NSID's control message. The kernel sends
// none for the listener's own namespace (unless it gave itself an id).
func nsidOf(oob []byte) int32 {
	cmsgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return NSIDCurrent
	}
	for _, c := range cmsgs {
		if c.Header.Level == unix.SOL_NETLINK && c.Header.Type == unix.NETLINK_LISTEN_ALL_NSID && len(c.Data) >= 4 {
			return int32(binary.NativeEndian.Uint32(c.Data))
		}
	}
	return NSIDCurrent
}

// stop makes a blocked recv return.
func (l *listener) stop() { l.f.SetReadDeadline(time.Unix(1, 0)) }

func (l *listener) close() error { return l.f.Close() }
