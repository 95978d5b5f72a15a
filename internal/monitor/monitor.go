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
		f, err := cfg.Target.Open()
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
	s.ifname(ctx, e)
	s.remember(*e)
	s.writer(e, m.procs)
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
