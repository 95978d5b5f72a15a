//go:build linux

// Package rtsock opens the rtnetlink sockets that listen to notifications:
// nltrace monitor reads them, and the probe's tracepoint backend watches
// the kernel deliver to its own.
package rtsock

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/netns"
)

// Open makes a bound rtnetlink socket in the namespace ns (nil: the
// caller's) with a receive buffer of rcvbuf bytes, past net.core.rmem_max
// where the process may (CAP_NET_ADMIN); flags are added to
// SOCK_RAW|SOCK_CLOEXEC. It returns the descriptor and the port id; the
// caller joins the groups it wants.
func Open(ns *os.File, flags, rcvbuf int) (fd int, portID uint32, err error) {
	fd = -1
	open := func() (err error) {
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|flags, unix.NETLINK_ROUTE)
		return err
	}
	if ns == nil {
		err = open()
	} else {
		// A socket stays in the namespace it was made in.
		err = netns.DoFile(ns, open)
	}
	if err != nil {
		if fd >= 0 { // made, but the thread could not come back
			unix.Close(fd)
		}
		return -1, 0, fmt.Errorf("open rtnetlink socket: %w", err)
	}
	if portID, err = setup(fd, rcvbuf); err != nil {
		unix.Close(fd)
		return -1, 0, err
	}
	return fd, portID, nil
}

func setup(fd, rcvbuf int) (uint32, error) {
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, fmt.Errorf("bind rtnetlink socket: %w", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return 0, fmt.Errorf("rtnetlink socket: %w", err)
	}
	// SO_RCVBUFFORCE passes net.core.rmem_max but needs CAP_NET_ADMIN;
	// without it SO_RCVBUF gets what rmem_max allows.
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvbuf) != nil {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf); err != nil {
			return 0, fmt.Errorf("set the receive buffer to %d bytes: %w", rcvbuf, err)
		}
	}
	return sa.(*unix.SockaddrNetlink).Pid, nil
}
