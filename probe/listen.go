//go:build linux

package probe

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"

	"github.com/cilium/ebpf"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/netns"
)

// listener is nltrace's own socket subscribed to the link, address and
// nexthop notifications of one namespace. bpf/ready.c watches the kernel
// deliver each one to it: that is how the tracepoint backend sees writers.
// What it reads is thrown away; it reads only so that its queue never
// fills, since a notification that finds the queue full is never
// delivered, and its change is then never seen.
type listener struct {
	netns    uint64
	conn     *netlink.Conn
	overruns atomic.Uint64
	closing  atomic.Bool
	done     chan struct{}
}

// listenBuffer holds a burst of notifications while the reader is off the
// CPU: a few thousand changes.
const listenBuffer = 8 << 20

var noticeGroups = []uint32{unix.RTNLGRP_LINK, unix.RTNLGRP_IPV4_IFADDR, unix.RTNLGRP_IPV6_IFADDR, unix.RTNLGRP_NEXTHOP}

// listen opens the listener in the namespace ns (inode ino), tells the
// program its port id, and dumps the links once so that the program
// reports the counters to start from.
func listen(ns *os.File, ino uint64, listeners *ebpf.Map) (_ *listener, err error) {
	var c *netlink.Conn
	// A socket stays in the namespace it was made in.
	if err := netns.DoFile(ns, func() (err error) {
		c, err = netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{})
		return err
	}); err != nil {
		return nil, fmt.Errorf("open the notification listener in network namespace %d: %w", ino, err)
	}
	l := &listener{netns: ino, conn: c, done: make(chan struct{})}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	for _, g := range noticeGroups {
		// Kernels without nexthop objects have no such group.
		if err := c.JoinGroup(g); err != nil && g != unix.RTNLGRP_NEXTHOP {
			return nil, fmt.Errorf("listener: join rtnetlink group %d: %w", g, err)
		}
	}
	if err := l.setBuffer(); err != nil {
		return nil, err
	}
	key := readyListenerKey{Netns: ino, Portid: c.PID()}
	if err := listeners.Put(key, uint8(1)); err != nil {
		return nil, fmt.Errorf("listener: register port %d: %w", key.Portid, err)
	}
	if err := l.dumpLinks(); err != nil {
		return nil, fmt.Errorf("listener: dump links: %w", err)
	}
	go l.drain()
	return l, nil
}

// dumpLinks asks for a link dump, read and thrown away by drain: a dump
// still running makes the kernel refuse it, which is as good.
func (l *listener) dumpLinks() error {
	_, err := l.conn.Send(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETLINK, Flags: netlink.Request | netlink.Dump},
		Data:   make([]byte, unix.SizeofIfInfomsg),
	})
	return err
}

// setBuffer makes the receive queue listenBuffer long, past the
// net.core.rmem_max limit when the process may (CAP_NET_ADMIN).
func (l *listener) setBuffer() error {
	raw, err := l.conn.SyscallConn()
	if err != nil {
		return fmt.Errorf("listener: %w", err)
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, listenBuffer)
	}); err != nil {
		return fmt.Errorf("listener: %w", err)
	}
	if serr != nil {
		return l.conn.SetReadBuffer(listenBuffer)
	}
	return nil
}

func (l *listener) drain() {
	defer close(l.done)
	for {
		_, err := l.conn.Receive()
		switch {
		case l.closing.Load():
			return
		case errors.Is(err, unix.ENOBUFS):
			l.overruns.Add(1)
		}
	}
}

func (l *listener) close() error {
	l.closing.Store(true)
	err := l.conn.Close()
	<-l.done
	return err
}

// allNetNS lists the network namespaces there are: named ones, and those
// processes are in.
func allNetNS() ([]uint64, error) {
	named, _ := filepath.Glob(filepath.Join(netns.Dir, "*"))
	procs, err := filepath.Glob("/proc/[0-9]*/ns/net")
	if err != nil || len(procs) == 0 {
		return nil, fmt.Errorf("list network namespaces: no /proc/*/ns/net (%v)", err)
	}
	seen := map[uint64]bool{}
	var out []uint64
	for _, path := range append(named, procs...) {
		var st unix.Stat_t
		if unix.Stat(path, &st) != nil || seen[st.Ino] {
			continue
		}
		seen[st.Ino] = true
		out = append(out, st.Ino)
	}
	return out, nil
}

// findNetNS opens the network namespace with inode ino: a named one, or
// one a thread of this process or another process is in.
func findNetNS(ino uint64) (*os.File, error) {
	named, _ := filepath.Glob(filepath.Join(netns.Dir, "*"))
	threads, _ := filepath.Glob("/proc/self/task/*/ns/net")
	procs, _ := filepath.Glob("/proc/[0-9]*/ns/net")
	for _, path := range slices.Concat(named, threads, procs) {
		var st unix.Stat_t
		if unix.Stat(path, &st) != nil || st.Ino != ino {
			continue
		}
		if f, err := netns.Open(path); err == nil {
			return f, nil
		}
	}
	return nil, fmt.Errorf("network namespace %d: no name in %s and no process in it: nothing to open it by", ino, netns.Dir)
}
