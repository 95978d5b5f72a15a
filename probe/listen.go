//go:build linux

package probe

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/netns"
)

// listener is nltrace's own socket subscribed to the link, address and
// nexthop notifications of one namespace. bpf/ready.c watches the kernel
// deliver each one to it: that is how the tracepoint backend sees writers.
// What it reads is thrown away; it reads only so that its queue never
// fills, since a notification that finds the queue full is never
// delivered, and its change is then never seen.
//
// The socket blocks, with a receive timeout, and drain reads it on a
// thread of its own: a goroutine parked in Go's network poller makes the
// runtime wake a thread to poll whenever another goroutine's syscall runs
// long, and a dump's recvmsg does at every chunk (5% slower dumps, in
// BenchmarkOverhead).
type listener struct {
	netns    uint64
	fd       int
	overruns atomic.Uint64
	closing  atomic.Bool
	done     chan struct{}
}

// listenBuffer holds a burst of notifications while the reader is off the
// CPU: a few thousand changes.
const listenBuffer = 8 << 20

// drainTimeout bounds how long closing a listener waits for drain.
const drainTimeout = 50 * time.Millisecond

var noticeGroups = []int{unix.RTNLGRP_LINK, unix.RTNLGRP_IPV4_IFADDR, unix.RTNLGRP_IPV6_IFADDR, unix.RTNLGRP_NEXTHOP}

// listen opens the listener in the namespace ns (inode ino), tells the
// program its port id, and has it report the counters to start from.
func listen(ns *os.File, ino uint64, listeners *ebpf.Map) (_ *listener, err error) {
	l := &listener{netns: ino, fd: -1, done: make(chan struct{})}
	// A socket stays in the namespace it was made in.
	if err := netns.DoFile(ns, func() (err error) {
		l.fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
		return err
	}); err != nil {
		if l.fd >= 0 { // made, but the thread could not come back
			unix.Close(l.fd)
		}
		return nil, fmt.Errorf("open the notification listener in network namespace %d: %w", ino, err)
	}
	defer func() {
		if err != nil {
			unix.Close(l.fd)
		}
	}()
	if err := unix.Bind(l.fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("listener: bind: %w", err)
	}
	for _, g := range noticeGroups {
		// Kernels without nexthop objects have no such group.
		if err := unix.SetsockoptInt(l.fd, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, g); err != nil && g != unix.RTNLGRP_NEXTHOP {
			return nil, fmt.Errorf("listener: join rtnetlink group %d: %w", g, err)
		}
	}
	// Past the net.core.rmem_max limit where the process may (CAP_NET_ADMIN).
	if unix.SetsockoptInt(l.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, listenBuffer) != nil {
		if err := unix.SetsockoptInt(l.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, listenBuffer); err != nil {
			return nil, fmt.Errorf("listener: receive buffer: %w", err)
		}
	}
	tv := unix.NsecToTimeval(drainTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(l.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return nil, fmt.Errorf("listener: receive timeout: %w", err)
	}
	sa, err := unix.Getsockname(l.fd)
	if err != nil {
		return nil, fmt.Errorf("listener: port id: %w", err)
	}
	key := readyListenerKey{Netns: ino, Portid: sa.(*unix.SockaddrNetlink).Pid}
	if err := listeners.Put(key, uint8(1)); err != nil {
		return nil, fmt.Errorf("listener: register port %d: %w", key.Portid, err)
	}
	if err := l.readCounters(); err != nil {
		return nil, fmt.Errorf("listener: dump nexthops: %w", err)
	}
	go l.drain()
	return l, nil
}

// readCounters asks for a dump that bpf/ready.c reports as the
// namespace's counters (msg_type 0). The nexthop table is the smallest to
// dump (empty on most hosts: NLMSG_DONE alone); drain reads it. A dump
// still running makes the kernel refuse it, which is as good.
func (l *listener) readCounters() error {
	req := make([]byte, unix.NLMSG_HDRLEN+8) // struct nhmsg, any family
	*(*unix.NlMsghdr)(unsafe.Pointer(&req[0])) = unix.NlMsghdr{
		Len: uint32(len(req)), Type: unix.RTM_GETNEXTHOP, Flags: unix.NLM_F_REQUEST | unix.NLM_F_DUMP,
	}
	return unix.Sendto(l.fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
}

func (l *listener) drain() {
	defer close(l.done)
	runtime.LockOSThread() // a thread that blocks in recvfrom: see listener
	buf := make([]byte, 1<<16)
	for !l.closing.Load() {
		_, _, err := unix.Recvfrom(l.fd, buf, 0)
		if errors.Is(err, unix.ENOBUFS) {
			l.overruns.Add(1)
		}
	}
}

// closeListeners stops every drain first, then waits for them: each
// notices within drainTimeout, together.
func closeListeners(ls []*listener) error {
	for _, l := range ls {
		l.closing.Store(true)
	}
	var errs []error
	for _, l := range ls {
		<-l.done
		errs = append(errs, unix.Close(l.fd))
	}
	return errors.Join(errs...)
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
	return nil, fmt.Errorf("network namespace %d: %w: no name in %s and no process in it", ino, errNoNetNS, netns.Dir)
}

// errNoNetNS is a namespace findNetNS has nothing to open by.
var errNoNetNS = errors.New("nothing to open it by")
