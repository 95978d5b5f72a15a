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
	"github.com/nltrace/nltrace/internal/rtsock"
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
	key      readyListenerKey // its entry in the program's listeners map
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
	fd, portID, err := rtsock.Open(ns, 0, listenBuffer)
	if err != nil {
		return nil, fmt.Errorf("the notification listener in network namespace %d: %w", ino, err)
	}
	l := &listener{netns: ino, fd: fd, done: make(chan struct{})}
	defer func() {
		if err != nil {
			unix.Close(l.fd)
		}
	}()
	// The tracepoint's kernels (6.6+) all have every group.
	for _, g := range noticeGroups {
		if err := unix.SetsockoptInt(l.fd, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, g); err != nil {
			return nil, fmt.Errorf("listener: join rtnetlink group %d: %w", g, err)
		}
	}
	tv := unix.NsecToTimeval(drainTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(l.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return nil, fmt.Errorf("listener: receive timeout: %w", err)
	}
	l.key = readyListenerKey{Netns: ino, Portid: portID}
	if err := listeners.Put(l.key, uint8(1)); err != nil {
		return nil, fmt.Errorf("listener: register port %d: %w", l.key.Portid, err)
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

// netNamespace is a network namespace and a path that opens it.
type netNamespace struct {
	ino  uint64
	path string
}

// netNamespaces lists the network namespaces there are, each once, with
// the first path found to it: a name, then a thread of this process in
// it, then any process in it.
func netNamespaces() []netNamespace {
	named, _ := filepath.Glob(filepath.Join(netns.Dir, "*"))
	threads, _ := filepath.Glob("/proc/self/task/*/ns/net")
	procs := processNetNS()
	seen := map[uint64]bool{}
	var out []netNamespace
	for _, path := range slices.Concat(named, threads, procs) {
		var st unix.Stat_t
		if unix.Stat(path, &st) != nil || seen[st.Ino] {
			continue
		}
		seen[st.Ino] = true
		out = append(out, netNamespace{st.Ino, path})
	}
	return out
}

// processNetNS lists /proc/PID/ns/net for every process. Glob would list
// each /proc/PID/ns directory, which only its owner may read without
// CAP_DAC_READ_SEARCH; stat needs only CAP_SYS_PTRACE.
func processNetNS() []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		if name := e.Name(); name[0] >= '1' && name[0] <= '9' {
			out = append(out, "/proc/"+name+"/ns/net")
		}
	}
	return out
}

// findNetNS opens the network namespace with inode ino.
func findNetNS(ino uint64) (*os.File, error) {
	for _, n := range netNamespaces() {
		if n.ino == ino {
			return netns.Open(n.path)
		}
	}
	return nil, fmt.Errorf("network namespace %d: %w: no name in %s and no process in it", ino, errNoNetNS, netns.Dir)
}

// errNoNetNS is a namespace findNetNS has nothing to open by.
var errNoNetNS = errors.New("nothing to open it by")
