package monitor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nltrace/nltrace/nlclient"
)

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
