package monitor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/netns"
	"github.com/nltrace/nltrace/nlclient"
)

// Config chooses what to monitor.
type Config struct {
	// Kinds are the tables whose changes are reported (nil: Kinds).
	Kinds []nlclient.Kind
	// Target is the namespace to monitor (the zero value: the caller's).
	Target nlclient.Target
	// AllNetNS also reports the changes of every namespace that has an id
	// in Target's (NETLINK_LISTEN_ALL_NSID, as `ip monitor all-nsid`).
	AllNetNS bool
	// RcvBuf is the socket's receive buffer in bytes (0: DefaultRcvBuf).
	// The kernel doubles it for its bookkeeping and has a floor of a few KB.
	RcvBuf int
}

// Validate checks the configuration as a whole, before any work.
func (c Config) Validate() error {
	if err := checkKinds(c.Kinds); err != nil {
		return err
	}
	if c.RcvBuf < 0 {
		return fmt.Errorf("receive buffer %d: want 0 (the default) or a size in bytes", c.RcvBuf)
	}
	return nil
}

// Stats counts what a Monitor reported.
type Stats struct {
	Events     int64 // notifications reported
	Overruns   int64 // ENOBUFS reads
	Lost       int64 // notifications the kernel dropped (when known)
	LostKnown  bool  // false when some overrun's count could not be read
	Resyncs    int64 // tables dumped again after overruns
	Unresolved int64 // events with a port id whose process was not found
	Undecoded  int64 // notifications that could not be decoded
}

// Monitor is a subscribed socket and what resolves its events.
type Monitor struct {
	kinds    []nlclient.Kind
	l        *listener
	self     *space
	ns       *nsids // nil without AllNetNS
	procs    *procs
	allNetNS bool

	mu        sync.Mutex
	stats     Stats
	lastDrops int64
	// pending is an overrun seen and not yet reported (a flood outlasted
	// maxResyncs rounds).
	pending bool
}

// Open subscribes to the configured notifications. Events are read by Run;
// notifications arriving before Run are queued by the kernel.
func Open(ctx context.Context, cfg Config) (*Monitor, error) {
	if cfg.Kinds == nil {
		cfg.Kinds = Kinds
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Monitor{kinds: cfg.Kinds, procs: newProcs(), allNetNS: cfg.AllNetNS, stats: Stats{LostKnown: true}}
	m.self = &space{nsid: NSIDCurrent, self: true, target: cfg.Target}
	ok := false
	defer func() {
		if !ok {
			m.Close()
		}
	}()
	if cfg.Target != (nlclient.Target{}) {
		f, err := openTarget(cfg.Target)
		if err != nil {
			return nil, err
		}
		m.self.file = f
	}
	var err error
	if m.l, err = listen(m.self.file, cfg.Kinds, cfg.AllNetNS, cfg.RcvBuf); err != nil {
		return nil, fmt.Errorf("netns %s: %w", cfg.Target, withHint(err))
	}
	if cfg.AllNetNS {
		m.ns = &nsids{dir: netns.Dir, proc: "/proc", found: map[int32]*space{}}
		if err := m.self.withFile(func(f *os.File) error {
			c := &netlink.Config{}
			dial := func() (err error) { m.ns.conn, err = netlink.Dial(unix.NETLINK_ROUTE, c); return err }
			if f == nil {
				return dial()
			}
			return netns.DoFile(f, dial)
		}); err != nil {
			return nil, fmt.Errorf("netns %s: open rtnetlink socket: %w", cfg.Target, err)
		}
	}
	// Names of the devices that exist already.
	m.self.dumpLinks(ctx)
	ok = true
	return m, nil
}

// openTarget opens the namespace file of t, as nlclient reads it.
func openTarget(t nlclient.Target) (*os.File, error) {
	var path string
	switch {
	case t.Path != "":
		path = t.Path
	case t.PID != 0:
		path = fmt.Sprintf("/proc/%d/ns/net", t.PID)
	case t.FD != 0:
		path = fmt.Sprintf("/proc/self/fd/%d", t.FD)
	}
	f, err := netns.Open(path)
	if errors.Is(err, os.ErrNotExist) && t.Path != "" {
		return nil, fmt.Errorf("%w (ip netns list shows the named namespaces)", err)
	}
	return f, err
}

func withHint(err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%w (needs root or CAP_NET_ADMIN)", err)
	}
	return err
}

// RcvBuf is the receive buffer the kernel granted, in bytes.
func (m *Monitor) RcvBuf() int { return m.l.rcvbuf }

// PortID is the monitor's own socket's port id.
func (m *Monitor) PortID() uint32 { return m.l.portID }

// Stats returns the counts so far.
func (m *Monitor) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}

// Run reads notifications and calls fn with each event, in the order the
// kernel sent them, until ctx ends (then it returns nil) or reading fails.
// fn runs on Run's goroutine: while it runs, notifications queue in the
// socket, and a slow fn makes overruns, which Run reports as events.
func (m *Monitor) Run(ctx context.Context, fn func(Event)) error {
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			m.l.stop()
		case <-done:
		}
	}()
	for {
		var b []byte
		var nsid int32
		var err error
		if m.pending {
			m.pending, err = false, errOverrun
		} else {
			b, nsid, err = m.l.recv()
		}
		now, mono := stamp()
		switch {
		case ctx.Err() != nil:
			m.countLateDrops()
			return nil
		case errors.Is(err, errOverrun):
			if err := m.overrun(ctx, now, mono, fn); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			continue
		case err != nil:
			return fmt.Errorf("read notifications: %w", err)
		}
		m.deliver(ctx, b, nsid, now, mono, fn)
	}
}

// deliver reports the events of one datagram.
func (m *Monitor) deliver(ctx context.Context, b []byte, nsid int32, now time.Time, mono int64, fn func(Event)) {
	msgs, err := split(b)
	if err != nil {
		m.count(func(s *Stats) { s.Undecoded++ })
	}
	for _, msg := range msgs {
		e, ok, err := parse(msg)
		if err != nil {
			m.count(func(s *Stats) { s.Undecoded++ })
			continue
		}
		if !ok || !slices.Contains(m.kinds, e.Kind) {
			continue
		}
		e.Time, e.MonoNS, e.NetNSID = now, mono, nsid
		m.resolve(ctx, &e)
		m.count(func(s *Stats) {
			s.Events++
			if e.PortID != 0 && e.PID == 0 {
				s.Unresolved++
			}
		})
		fn(e)
	}
}

// stamp reads the wall clock and CLOCK_MONOTONIC (BPF's ktime).
func stamp() (time.Time, int64) {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return time.Now(), ts.Nano()
}

func (m *Monitor) count(f func(*Stats)) {
	m.mu.Lock()
	f(&m.stats)
	m.mu.Unlock()
}

// resolve names the event's namespace, device and writer.
func (m *Monitor) resolve(ctx context.Context, e *Event) {
	s := m.self
	if e.NetNSID != NSIDCurrent && m.ns != nil {
		s = m.ns.lookup(e.NetNSID, e.Time)
		e.NetNS = s.name
	}
	if s.path == "" && !s.self {
		// A namespace not found: its devices and sockets cannot be listed.
		if e.PortID != 0 {
			e.Unresolved = "netns not found"
		}
		return
	}
	if e.Kind == nlclient.Link && e.Ifname != "" {
		s.remember(*e)
	} else {
		s.ifname(ctx, e)
		s.remember(*e)
	}
	s.writer(e, m.procs)
}

// maxResyncs bounds the rounds of one overrun: a burst still going on
// while the tables are dumped again is reported and dumped once more, but a
// flood that never ends must not keep the reader from reading.
const maxResyncs = 5

// overrun reports lost notifications and dumps the subscribed tables
// again. While the socket stays full the kernel drops more, and reports
// ENOBUFS again only once its queue was emptied: so the queue is read
// (drain) before and after each dump, and each later loss (a new ENOBUFS
// there, or the drop counter moving) makes another round.
func (m *Monitor) overrun(ctx context.Context, now time.Time, mono int64, fn func(Event)) error {
	again := m.drain(ctx, fn)
	for round := range maxResyncs {
		lost := m.dropsSince()
		if round > 0 && lost <= 0 && !again {
			return nil
		}
		m.count(func(s *Stats) {
			s.Overruns++
			if lost < 0 {
				s.LostKnown = false
			} else {
				s.Lost += lost
			}
		})
		fn(Event{Time: now, MonoNS: mono, Action: Overrun, NetNSID: NSIDCurrent, Lost: lost})
		if err := m.resync(ctx, fn); err != nil {
			return err
		}
		again = m.drain(ctx, fn)
		now, mono = stamp()
	}
	// A flood: the next read starts another overrun.
	m.pending = again
	return nil
}

// maxDrain bounds the notifications drain reads at once.
const maxDrain = 1 << 16

// drain reports what the socket still holds. The kernel drops every
// notification for a socket marked congested until its queue is empty,
// so the queue is read before the tables are dumped again: a change made
// during the dump is then queued, not lost. It returns whether it read
// another ENOBUFS.
func (m *Monitor) drain(ctx context.Context, fn func(Event)) (again bool) {
	for range maxDrain {
		b, nsid, err := m.l.tryRecv()
		switch {
		case errors.Is(err, errOverrun):
			again = true
			continue
		case err != nil:
			return again
		}
		now, mono := stamp()
		m.deliver(ctx, b, nsid, now, mono, fn)
	}
	return again
}

// resync dumps every subscribed table of the monitored namespace and
// reports its size.
func (m *Monitor) resync(ctx context.Context, fn func(Event)) error {
	for _, k := range m.kinds {
		r, err := m.resyncDump(ctx, k)
		if err != nil {
			return fmt.Errorf("dump %v again after an overrun: %w", k, err)
		}
		if k == nlclient.Link {
			m.self.setLinks(r.Objects)
			m.self.linksAt = r.Start
		}
		m.count(func(s *Stats) { s.Resyncs++ })
		t, mono := stamp()
		fn(Event{Time: t, MonoNS: mono, Kind: k, Action: Resync, NetNSID: NSIDCurrent, Objects: len(r.Objects)})
	}
	return nil
}

func (m *Monitor) resyncDump(ctx context.Context, k nlclient.Kind) (*nlclient.Result, error) {
	if m.self.client == nil {
		c, err := nlclient.Dial(m.self.target)
		if err != nil {
			return nil, err
		}
		m.self.client = c
	}
	return m.self.client.Dump(ctx, k, nlclient.Options{})
}

// dropsSince reads the socket's drop counter and returns how much it grew
// since the last read; -1 when sock_diag cannot tell.
func (m *Monitor) dropsSince() int64 {
	if m.self.diag == nil {
		d, err := dialDiag(m.self.file)
		if err != nil {
			return -1
		}
		m.self.diag = d
	}
	socks, err := m.self.diag.sockets(true)
	if err != nil {
		return -1
	}
	info, ok := socks[m.l.portID]
	if !ok || info.drops < 0 {
		return -1
	}
	lost := info.drops - m.lastDrops
	m.lastDrops = info.drops
	return lost
}

// countLateDrops adds the drops no overrun reported: the kernel reports
// ENOBUFS once per congestion, and drops after that read count silently.
func (m *Monitor) countLateDrops() {
	if lost := m.dropsSince(); lost > 0 {
		m.count(func(s *Stats) { s.Lost += lost })
	}
}

// Close releases the sockets.
func (m *Monitor) Close() error {
	if m.l != nil {
		m.l.close()
	}
	if m.ns != nil && m.ns.conn != nil {
		m.ns.conn.Close()
	}
	m.self.close()
	return nil
}
