package nlclient

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
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
	type result struct {
		fd  int
		err error
	}
	res := make(chan result, 1)
	// Sockets belong to the namespace they were created in: create it on a
	// locked thread moved there. If the thread cannot move back it stays
	// locked and dies with the goroutine.
	go func() {
		fd, err := socketAt(path)
		res <- result{fd, err}
	}()
	r := <-res
	if r.err != nil {
		return nil, r.err
	}
	req := make([]byte, unix.NLMSG_HDRLEN+unix.SizeofIfInfomsg)
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], unix.RTM_GETLINK)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	return &rawDumper{fd: r.fd, req: req, buf: make([]byte, 32<<10)}, nil
}

func socketAt(path string) (int, error) {
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return -1, err
	}
	defer orig.Close()
	target, err := os.Open(path)
	if err != nil {
		runtime.UnlockOSThread()
		return -1, err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return -1, fmt.Errorf("enter %s: %w", path, err)
	}
	fd, sockErr := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		if sockErr == nil {
			unix.Close(fd)
		}
		return -1, fmt.Errorf("return to the original namespace: %w", err)
	}
	runtime.UnlockOSThread()
	if sockErr != nil {
		return -1, fmt.Errorf("netlink socket: %w", sockErr)
	}
	return fd, nil
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
