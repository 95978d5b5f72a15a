package nlclient

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/netns"
)

// rawDumper is the floor nlclient's dumps are measured against: one blocking
// netlink socket, one RTM_GETLINK dump request, recvfrom into a 32 KiB buffer
// until NLMSG_DONE, counting messages and decoding nothing.
type rawDumper struct {
	fd  int
	req []byte
	buf []byte
	seq uint32
}

// newRawDumper opens a NETLINK_ROUTE socket inside the namespace at path.
func newRawDumper(path string) (*rawDumper, error) {
	fd := -1
	// A socket belongs to the namespace it was created in.
	err := netns.Do(path, func() error {
		s, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
		if err == nil {
			fd = s
		}
		return err
	})
	if err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("netlink socket in %s: %w", path, err)
	}
	req := make([]byte, unix.NLMSG_HDRLEN+unix.SizeofIfInfomsg)
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], unix.RTM_GETLINK)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	return &rawDumper{fd: fd, req: req, buf: make([]byte, 32<<10)}, nil
}

// dump runs one link dump and returns the number of RTM_NEWLINK messages.
func (d *rawDumper) dump() (int, error) {
	d.seq++
	binary.NativeEndian.PutUint32(d.req[8:], d.seq)
	// An unconnected netlink socket sends to the kernel (port 0).
	if _, err := unix.Write(d.fd, d.req); err != nil {
		return 0, fmt.Errorf("send dump request: %w", err)
	}
	links := 0
	for {
		n, _, errno := unix.Syscall6(unix.SYS_RECVFROM, uintptr(d.fd), uintptr(unsafe.Pointer(&d.buf[0])),
			uintptr(len(d.buf)), 0, 0, 0)
		if errno != 0 {
			return links, fmt.Errorf("receive: %w", errno)
		}
		b := d.buf[:n]
		for len(b) >= unix.NLMSG_HDRLEN {
			l := binary.NativeEndian.Uint32(b[0:])
			typ := binary.NativeEndian.Uint16(b[4:])
			seq := binary.NativeEndian.Uint32(b[8:])
			if l < unix.NLMSG_HDRLEN || int(l) > len(b) {
				return links, errors.New("malformed message")
			}
			if seq == d.seq {
				switch typ {
				case unix.NLMSG_DONE:
					return links, nil
				case unix.NLMSG_ERROR:
					return links, errors.New("kernel error reply")
				case unix.RTM_NEWLINK:
					links++
				}
			}
			b = b[min(align(int(l)), len(b)):]
		}
	}
}

func (d *rawDumper) Close() error { return unix.Close(d.fd) }
