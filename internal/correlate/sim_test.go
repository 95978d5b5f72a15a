package correlate

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

// simConfig describes a synthetic traced run.
type simConfig struct {
	Seed  uint64
	Dumps int // results the dumpers get (final attempts)
	// Every is how often a dumper starts a dump (1 ms: 1,000 dumps/s).
	Every time.Duration
	// Bumps is the chance of a churn writer before each chunk; Late, of
	// one while a chunk is built (seen one chunk late).
	Bumps, Late float64
	// Retry is the chance an interrupted dump is tried again after
	// Backoff, up to Attempts attempts.
	Retry    float64
	Backoff  time.Duration
	Attempts int
	// Exec is the chance of a dump by another program: samples, no result.
	Exec float64
	// Drop is the chance the ring buffer loses a sample; Mismatch, that
	// userspace sees a chunk's flag otherwise than the kernel set it.
	Drop, Mismatch float64
	// Lag is how much later than the ring buffer's poll a kernel event
	// may arrive; ResultLag, how much later than its dump's end a result.
	Lag, ResultLag time.Duration
}

func (c simConfig) withDefaults() simConfig {
	if c.Every == 0 {
		c.Every = time.Millisecond
	}
	if c.Attempts == 0 {
		c.Attempts = 4
	}
	return c
}

// timed is an event (*probe.Sample, *probe.Writer or *nlclient.Result)
// and when it reaches userspace.
type timed struct {
	at time.Duration
	n  int // emission order, for ties
	ev any
}

type arrivals []timed

func (a arrivals) Len() int { return len(a) }
func (a arrivals) Less(i, j int) bool {
	return a[i].at < a[j].at || a[i].at == a[j].at && a[i].n < a[j].n
}
func (a arrivals) Swap(i, j int) { a[i], a[j] = a[j], a[i] }
func (a *arrivals) Push(x any)   { *a = append(*a, x.(timed)) }
func (a *arrivals) Pop() any {
	old := *a
	x := old[len(old)-1]
	*a = old[:len(old)-1]
	return x
}

// sim plays a run: dumps of links, IPv4 addresses and nexthops by three
// dumpers' sockets in one namespace while writers move its counters (and
// another namespace's), delivered in arrival order: kernel events in
// ring-buffer polls every 20 ms, results when their dump ends, so a
// result usually comes before its last samples.
type sim struct {
	cfg      simConfig
	rng      *rand.Rand
	t        time.Duration // kernel time
	counters map[uint64]*probe.Counters
	seqs     map[uint32]uint32
	q        arrivals
	n        int
	deliver  func(timed)
}

const pollEvery = 20 * time.Millisecond

// simulate plays cfg, handing each event to deliver in arrival order.
func simulate(cfg simConfig, deliver func(timed)) {
	cfg = cfg.withDefaults()
	s := &sim{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 7)), counters: map[uint64]*probe.Counters{
		// In churny's run an IPv4 address dump is interrupted by the
		// bump that wraps AddrGenID4.
		ns: {DevBaseSeq: 1000, AddrGenID4: 0xfffffff2, NexthopSeq: 7}, other: {DevBaseSeq: 50}},
		seqs: map[uint32]uint32{}, deliver: deliver}
	kinds := []nlclient.Kind{nlclient.Link, nlclient.Addr4, nlclient.Nexthop}
	for i := range cfg.Dumps {
		start := s.t
		if s.rng.Float64() < cfg.Exec {
			s.dump(kinds[s.rng.IntN(len(kinds))], 9000+uint32(s.rng.IntN(4)))
		}
		s.result(kinds[i%len(kinds)], 101+uint32(i%3))
		// The churn goes on between dumps.
		if s.rng.Float64() < cfg.Bumps {
			s.writer(ns)
		}
		if s.rng.Float64() < 0.1 {
			s.writer(other)
		}
		s.t = max(s.t, start+cfg.Every)
		s.flush(false)
	}
	s.flush(true)
}

// result runs one dump, retried while interrupted, and queues its
// result with the earlier attempts.
func (s *sim) result(k nlclient.Kind, port uint32) {
	var earlier []*nlclient.Result
	for attempt := 1; ; attempt++ {
		r := s.dump(k, port)
		r.Attempt = attempt
		if !r.Interrupted() || attempt == s.cfg.Attempts || s.rng.Float64() >= s.cfg.Retry {
			r.Earlier = earlier
			s.queue(s.t+s.jitter(s.cfg.ResultLag), r)
			return
		}
		earlier = append(earlier, r)
		end := s.t + s.cfg.Backoff
		for s.t < end {
			s.t += min(time.Millisecond, end-s.t)
			if s.rng.Float64() < s.cfg.Bumps {
				s.writer(ns)
			}
		}
	}
}

func (s *sim) jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(s.rng.Int64N(int64(d)))
}

// seqOf is what a dump of kind k stores in cb->seq.
func seqOf(k nlclient.Kind, c *probe.Counters) uint32 {
	switch k {
	case nlclient.Addr4:
		return c.AddrGenID4 + c.DevBaseSeq
	case nlclient.Nexthop:
		return c.NexthopSeq
	}
	return c.DevBaseSeq
}

// dump runs one dump attempt of kind k on socket port, queueing its
// samples, and returns what userspace saw.
func (s *sim) dump(k nlclient.Kind, port uint32) *nlclient.Result {
	s.seqs[port]++
	seq := s.seqs[port]
	c := s.counters[ns]
	r := &nlclient.Result{Kind: k, NetNSInode: ns, PortID: port, Seq: seq, Objects: make([]nlclient.Object, 4)}
	n := 1 + s.rng.IntN(5)
	var prev uint32
	for i := 1; i <= n+1; i++ {
		if s.rng.Float64() < s.cfg.Bumps {
			s.writer(ns)
		}
		done := i == n+1
		smp := &probe.Sample{Start: uint64(s.t), NetNS: ns, PortID: port, Seq: seq, Handler: handlerOf(k),
			PrevSeqBefore: prev, SeqAfter: seqOf(k, c), Comm: "nltrace"}
		s.t += 50 * time.Microsecond
		if s.rng.Float64() < s.cfg.Late {
			s.writer(ns) // after cb->seq was read, before the snapshot
		}
		smp.PrevSeqAfter, smp.Counters, smp.End = smp.SeqAfter, *c, uint64(s.t)
		moved := prev != 0 && smp.SeqAfter != prev
		prev = smp.SeqAfter
		s.t += 50 * time.Microsecond
		if done {
			smp.Done, smp.Lost = true, moved
			if s.rng.Float64() < 0.02 {
				smp.DoneFlagged, r.DoneInterrupted = true, true
			}
			r.Chunks = append(r.Chunks, nlclient.Chunk{Index: i, Messages: 1, Bytes: 20, Done: true, Flags: 2})
		} else {
			smp.Bytes, smp.Ret, smp.Flagged = 4000, 4000, moved
			ch := nlclient.Chunk{Index: i, Messages: 10, Bytes: 4000, Flags: 2, Interrupted: moved != (s.rng.Float64() < s.cfg.Mismatch)}
			if ch.Interrupted && r.FirstInterrupted == 0 {
				r.FirstInterrupted = i
			}
			r.Chunks = append(r.Chunks, ch)
		}
		if s.rng.Float64() >= s.cfg.Drop {
			s.kernel(smp)
		}
	}
	return r
}

var simOps = []probe.Op{probe.Register, probe.Unregister, probe.Addr4Add, probe.Addr4Del, probe.NexthopNew, probe.NexthopDel}

// writer moves one of netns's counters, as a churn worker does.
func (s *sim) writer(netns uint64) {
	c := s.counters[netns]
	op := simOps[s.rng.IntN(len(simOps))]
	dev := s.rng.IntN(8)
	w := &probe.Writer{Time: uint64(s.t), Op: op, NetNS: netns, Ifname: fmt.Sprintf("ch-%d", dev), PID: 42, TID: 42,
		Comm: "nltrace", Context: probe.ContextTask}
	var counter *uint32
	switch op {
	case probe.Register, probe.Unregister:
		w.Counter, counter = probe.DevBaseSeq, &c.DevBaseSeq
	case probe.Addr4Add, probe.Addr4Del:
		w.Counter, counter = probe.AddrGenID4, &c.AddrGenID4
		w.Addr, w.PrefixLen = netip.AddrFrom4([4]byte{10, 0, 0, byte(dev)}), 24
		w.Worker = s.rng.IntN(10) == 0
	default:
		w.Counter, counter = probe.NexthopSeq, &c.NexthopSeq
		w.Ifname = ""
	}
	w.Before = *counter
	// A nexthop request is recorded as it starts and may fail.
	if !op.MayNotBump() || s.rng.IntN(2) == 0 {
		*counter++
	}
	s.t += 10 * time.Microsecond
	s.kernel(w)
}

// kernel queues a probe event: it reaches userspace at the ring buffer's
// next poll, up to Lag later.
func (s *sim) kernel(ev any) {
	poll := (s.t/pollEvery + 1) * pollEvery
	s.queue(poll+s.jitter(s.cfg.Lag), ev)
}

func (s *sim) queue(at time.Duration, ev any) {
	s.n++
	heap.Push(&s.q, timed{at: at, n: s.n, ev: ev})
}

// flush delivers what has arrived by now: everything queued later
// arrives no earlier than now.
func (s *sim) flush(all bool) {
	for s.q.Len() > 0 && (all || s.q[0].at <= s.t) {
		s.deliver(heap.Pop(&s.q).(timed))
	}
}

// events plays cfg into a slice.
func events(cfg simConfig) []timed {
	var out []timed
	simulate(cfg, func(e timed) { out = append(out, e) })
	return out
}

// handlerOf names the kernel's dump handler of a kind the sim dumps.
func handlerOf(k nlclient.Kind) string {
	for h, hk := range handlerKinds {
		if hk == k {
			return h
		}
	}
	return "handler"
}

// fakeClock is a Joiner's clock that a test sets.
type fakeClock struct{ now time.Duration }

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func (c *fakeClock) Time() time.Time { return epoch.Add(c.now) }

// feed hands an event to a Joiner at its arrival time.
func feed(j *Joiner, clock *fakeClock, e timed) {
	clock.now = max(clock.now, e.at)
	switch ev := e.ev.(type) {
	case *nlclient.Result:
		j.Result(ev)
	default:
		j.Event(ev)
	}
}

// collect hands an event to a batch Collector.
func collect(c *Collector, e timed) {
	switch ev := e.ev.(type) {
	case *nlclient.Result:
		c.Result(ev)
	default:
		c.Event(ev)
	}
}
