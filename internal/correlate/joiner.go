package correlate

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

// JoinerConfig bounds what a Joiner keeps; zero fields take the defaults
// in parentheses.
type JoinerConfig struct {
	// Grace is how long a dump waits, once its result and its last sample
	// (the call that ended it) are in, for writers that other CPUs put in
	// the ring buffer a little after that sample (1 s). The probe's
	// events reach userspace in batches, often after the dumper has its
	// result, and seconds late when the reader falls behind: the wait
	// starts from the last sample, not from the result.
	Grace time.Duration
	// SampleTimeout is how long samples wait for their dump's result, and
	// a result for its dump's last sample, lost or never made (10 s).
	// Dumps made by other programs (--exec) never get a result; an
	// interrupted attempt's result comes with the retry that ends it, so
	// retries that last longer lose their earlier attempts' samples.
	// With FromSamples it is how long a dump's samples may pause before
	// the dump is taken as over (a client that stopped reading).
	SampleTimeout time.Duration
	// WriterWindow is how long a writer is kept after it arrives when no
	// dump waiting to be joined can use it (2 s): dumps whose samples are
	// still in the ring buffer may.
	WriterWindow time.Duration
	// MaxDumps is how many dumps the attribution lists one by one (1000;
	// negative: all of them).
	MaxDumps int
	// MaxSamples and MaxWriters bound the events kept (each 1<<18). Past
	// them, samples without a result and the oldest writers are dropped,
	// and counted; results waiting for the grace to end are joined early.
	MaxSamples, MaxWriters int
	// Top is how many culprits each kind names (5).
	Top int
	// OnDump, when set, sees each dump as it is joined, with its samples:
	// in the order they are ready, not always the order their results
	// came. It is called with the Joiner locked.
	OnDump func(*Dump)
	// FromSamples joins dumps no result will come for (other processes'
	// dumps, watched on a live host): each dump's result is made from its
	// samples, the kernel's flags being what the dumper received, once
	// its last sample is in or SampleTimeout has passed. The caller keeps
	// its own figures from OnDump: no per-kind tally is kept, whose
	// culprits name devices and addresses without bound.
	FromSamples bool
	// Clock is time.Now unless a test drives time itself.
	Clock func() time.Time
}

func (c *JoinerConfig) defaults() {
	c.Grace = cmp.Or(c.Grace, time.Second)
	c.SampleTimeout = cmp.Or(c.SampleTimeout, 10*time.Second)
	c.WriterWindow = cmp.Or(c.WriterWindow, 2*time.Second)
	c.MaxDumps = cmp.Or(c.MaxDumps, 1000)
	c.MaxSamples = cmp.Or(c.MaxSamples, 1<<18)
	c.MaxWriters = cmp.Or(c.MaxWriters, 1<<18)
	c.Top = cmp.Or(c.Top, 5)
	if c.Clock == nil {
		c.Clock = time.Now
	}
}

// Joiner joins a run's results, samples and writers as they come, in any
// order, in memory bounded however long the run. Each dump is joined once
// its result and its last sample are in and the grace has passed (or its
// last sample is given up on), folded into the per-kind figures, and kept
// only if the attribution lists it, with a copy of its result that has no
// objects, and no samples. Its final Attribution is the one
// NewAttribution makes of Join on the same events, as long as no event
// comes later than the limits allow, the list of dumps stays within
// MaxDumps, and no counter stays still for longer than WriterWindow while
// requests that may leave it alone come (see releaseWriters). Its methods
// may be called from several goroutines.
type Joiner struct {
	mu    sync.Mutex
	cfg   JoinerConfig
	start time.Time
	last  int64 // when the Joiner last swept, in ns since start

	// buckets holds the samples of each dump not joined yet, whether or
	// not its result is in.
	buckets  map[probe.DumpKey]*bucket
	nsamples int
	// waiting lists buckets as they were made, for the sample timeout;
	// pending lists the results in the order they came, joined or not:
	// a dump is listed once those before it are joined, so that the list
	// is Join's, while a dump that waits long for its last sample holds
	// back only its turn on the list, not the others' joins.
	waiting fifo[*bucket]
	pending fifo[*pendingDump]
	writers liveWriters

	tally   tally
	listed  []*Dump
	omitted int
	// Dropped for overload.
	droppedSamples, droppedWriters int
}

// bucket is the samples of one dump key.
type bucket struct {
	key     probe.DumpKey
	samples []*probe.Sample
	// least holds each counter's earliest value among the samples: no
	// window of this dump starts before it, so writers that bumped from
	// later values must stay.
	least   probe.Counters
	created int64
	// last is when its latest sample arrived; first, the earliest
	// CLOCK_MONOTONIC start among them.
	last  int64
	first uint64
	// ended is when the sample of the call that ended the dump arrived,
	// 0 until it does; doneAt, when that call returned (CLOCK_MONOTONIC).
	ended  int64
	doneAt uint64
	// claims counts the results waiting to be joined with these samples:
	// more than one only if a key is reused, where Join gives each the
	// same samples too.
	claims int
	gone   bool // released: joined, timed out or dropped
}

type pendingDump struct {
	r       *nlclient.Result
	b       *bucket
	arrived int64
	joined  bool
	listed  *Dump // once joined, if it is to be listed
}

// ready says whether a dump can be joined: its samples are in, or will
// not come.
func (j *Joiner) ready(p *pendingDump, now int64) bool {
	if e := p.b.ended; e != 0 && now-e >= int64(j.cfg.Grace) {
		return true
	}
	if j.cfg.FromSamples {
		// No result says the dump is over: it is once its samples
		// stop coming, however long it ran.
		return now-p.b.last >= int64(j.cfg.SampleTimeout)
	}
	return now-p.arrived >= int64(j.cfg.SampleTimeout)
}

// NewJoiner returns a Joiner with cfg's bounds.
func NewJoiner(cfg JoinerConfig) *Joiner {
	cfg.defaults()
	return &Joiner{cfg: cfg, start: cfg.Clock(), buckets: map[probe.DumpKey]*bucket{}}
}

func (j *Joiner) now() int64 { return int64(j.cfg.Clock().Sub(j.start)) }

// Event takes a probe event (*probe.Sample or *probe.Writer).
func (j *Joiner) Event(ev any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	switch e := ev.(type) {
	case *probe.Sample:
		j.addSample(e, now)
	case *probe.Writer:
		j.writers.add(e, now)
		if j.writers.n > j.cfg.MaxWriters {
			j.shedWriters(now)
		}
	}
	j.tick(now)
}

// Result takes one dump's result; its earlier attempts are joined with it.
func (j *Joiner) Result(r *nlclient.Result) {
	if r == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	for _, a := range flatten([]*nlclient.Result{r}) {
		b := j.bucket(probe.DumpKey{NetNS: a.NetNSInode, PortID: a.PortID, Seq: a.Seq}, now)
		b.claims++
		j.pending.push(&pendingDump{r: trim(a), b: b, arrived: now})
	}
	j.tick(now)
}

// trim copies what a join and a listed dump need of a result: the
// objects can be most of a dump's memory, and each attempt is joined on
// its own.
func trim(r *nlclient.Result) *nlclient.Result {
	c := *r
	c.Objects, c.Earlier = nil, nil
	return &c
}

func (j *Joiner) bucket(key probe.DumpKey, now int64) *bucket {
	b := j.buckets[key]
	if b == nil {
		b = &bucket{key: key, created: now}
		j.buckets[key] = b
		j.waiting.push(b)
	}
	return b
}

func (j *Joiner) addSample(s *probe.Sample, now int64) {
	if b := j.buckets[s.DumpKey()]; j.cfg.FromSamples && b != nil && b.ended != 0 && s.Start >= b.doneAt {
		// A chunk built after the key's dump ended is another dump's
		// (a late sample of the ended one was built before). Go's net
		// package dumps with seq 1 from a port that is the process's
		// id: net.InterfaceAddrs makes two dumps of one key.
		delete(j.buckets, b.key)
	}
	b := j.bucket(s.DumpKey(), now)
	if j.cfg.FromSamples && b.claims == 0 {
		// A new dump: its result is made when it is joined.
		b.claims++
		j.pending.push(&pendingDump{b: b, arrived: now})
	}
	if len(b.samples) == 0 {
		b.least, b.first = s.Counters, s.Start
	} else {
		b.least, b.first = earliest(b.least, s.Counters), min(b.first, s.Start)
	}
	b.last = now
	b.samples = append(b.samples, s)
	j.nsamples++
	if s.Done {
		// Never 0: the clock starts at 0.
		b.ended, b.doneAt = max(now, 1), s.End
	}
	for _, c := range allCounters {
		j.writers.saw(indexKey{netns: s.NetNS, counter: c}, s.Counters.Get(c))
	}
	if j.nsamples > j.cfg.MaxSamples {
		j.shedSamples(now)
	}
}

// allCounters is every counter a sample snapshots.
var allCounters = []probe.Counter{probe.DevBaseSeq, probe.AddrGenID4, probe.AddrGenID6, probe.NexthopSeq}

// before compares counter values with wrap-around.
func before(a, b uint32) bool { return int32(a-b) < 0 }

func earliest(a, b probe.Counters) probe.Counters {
	pick := func(x, y uint32) uint32 {
		if before(y, x) {
			return y
		}
		return x
	}
	return probe.Counters{
		DevBaseSeq: pick(a.DevBaseSeq, b.DevBaseSeq), AddrGenID4: pick(a.AddrGenID4, b.AddrGenID4),
		AddrGenID6: pick(a.AddrGenID6, b.AddrGenID6), NexthopSeq: pick(a.NexthopSeq, b.NexthopSeq),
	}
}

// tick sweeps a few times per grace, not on every event: a sweep walks
// every bucket.
func (j *Joiner) tick(now int64) {
	if now-j.last >= max(int64(j.cfg.Grace)/4, int64(time.Millisecond)) {
		j.sweep(now)
	}
}

// sweep joins the dumps that are ready, forgets samples that waited too
// long for a result, and releases the writers no dump can need.
func (j *Joiner) sweep(now int64) {
	j.last = now
	for _, p := range j.pending.live() {
		if !p.joined && j.ready(p, now) {
			j.join(p)
		}
	}
	j.list()
	timeout := int64(j.cfg.SampleTimeout)
	for j.waiting.len() > 0 && j.waiting.front().created+timeout <= now {
		if b := j.waiting.pop(); !b.gone && b.claims == 0 {
			// Another program's dump, most likely: Join ignores it too.
			j.release(b)
		}
	}
	j.releaseWriters(now)
}

func (j *Joiner) join(p *pendingDump) {
	b := p.b
	p.joined, p.b = true, nil
	b.claims--
	slices.SortStableFunc(b.samples, func(x, y *probe.Sample) int { return cmp.Compare(x.Start, y.Start) })
	if p.r == nil {
		p.r = resultFrom(b.samples)
	}
	d := &Dump{Result: p.r, Kind: p.r.Kind, NetNS: b.key.NetNS, PortID: b.key.PortID, Seq: b.key.Seq, Samples: b.samples}
	d.join(&j.writers)
	if !j.cfg.FromSamples {
		j.tally.add(d)
	}
	if j.cfg.OnDump != nil {
		j.cfg.OnDump(d)
	}
	d.Samples = nil
	if b.claims == 0 {
		j.release(b)
	}
	if d.Interrupted() || len(d.Mismatches) > 0 || d.Missing != "" {
		p.listed = d
	}
	p.r = nil
}

// list lists the joined dumps at the head of the queue, in order.
func (j *Joiner) list() {
	for j.pending.len() > 0 && j.pending.front().joined {
		d := j.pending.pop().listed
		switch {
		case d == nil:
		case j.cfg.MaxDumps < 0 || len(j.listed) < j.cfg.MaxDumps:
			j.listed = append(j.listed, d)
		default:
			j.omitted++
		}
	}
}

// joinOldest joins results in the order they came, whether ready or not,
// while more samples are kept than the limit allows.
func (j *Joiner) joinOldest(limit int) {
	for _, p := range j.pending.live() {
		if j.nsamples <= limit {
			break
		}
		if !p.joined {
			j.join(p)
		}
	}
	j.list()
}

// release forgets a bucket's samples; a sample of its key arriving later
// starts a new bucket.
func (j *Joiner) release(b *bucket) {
	if j.buckets[b.key] == b {
		delete(j.buckets, b.key)
	}
	j.nsamples -= len(b.samples)
	b.samples, b.gone = nil, true
}

// floors returns, for each namespace and counter, the earliest value a
// window of a dump not joined yet can start from.
func (j *Joiner) floors() map[indexKey]uint32 {
	fl := map[indexKey]uint32{}
	for _, b := range j.buckets {
		if len(b.samples) == 0 {
			continue
		}
		for _, c := range allCounters {
			k, v := indexKey{netns: b.key.NetNS, counter: c}, b.least.Get(c)
			if f, ok := fl[k]; !ok || before(v, f) {
				fl[k] = v
			}
		}
	}
	return fl
}

// releaseWriters releases, oldest first, the writers older than the
// window that no waiting dump can use. Writers mostly arrive in the
// order of their bumps, so stopping at the first one still needed keeps
// few others.
//
// A writer that may leave its counter alone (a nexthop request, a
// device's nexthop flush) is needed by a window only once the counter
// has moved past the value it found. While the counter stays there, such
// writers leave after the window like unneeded ones: they would pile up
// for as long as it stays (every device unregistered flushes nexthops),
// and Join lists them all as culprits when it finally moves, although
// only a recent request can have moved it.
func (j *Joiner) releaseWriters(now int64) {
	fl := j.floors()
	cutoff := now - int64(j.cfg.WriterWindow)
	for k, q := range j.writers.byKey {
		floor, pinned := fl[k]
		latest := j.writers.latest[k]
		for q.len() > 0 {
			e := q.front()
			if e.at > cutoff {
				break
			}
			needed := pinned && !before(e.w.Before, floor)
			if needed && (!e.w.Op.MayNotBump() || before(e.w.Before, latest)) {
				break
			}
			j.writers.pop(k, q)
		}
	}
	// A counter with no writer kept and no dump waiting needs no latest
	// value: namespaces come and go on a host watched for days.
	for k := range j.writers.latest {
		if _, kept := j.writers.byKey[k]; !kept {
			if _, pinned := fl[k]; !pinned {
				delete(j.writers.latest, k)
			}
		}
	}
}

// shedTo is how far an overloaded store is emptied, so that shedding,
// which walks every bucket, happens once per many events.
func shedTo(limit int) int { return limit - limit/8 }

// shedSamples drops the oldest samples still without a result, then
// joins the oldest results early.
func (j *Joiner) shedSamples(now int64) {
	target := shedTo(j.cfg.MaxSamples)
	for j.nsamples > target && j.waiting.len() > 0 {
		b := j.waiting.pop()
		if !b.gone && b.claims == 0 {
			j.droppedSamples += len(b.samples)
			j.release(b)
		}
	}
	j.joinOldest(target)
	j.releaseWriters(now)
}

// shedWriters releases the writers nothing needs, then drops the oldest.
func (j *Joiner) shedWriters(now int64) {
	j.releaseWriters(now)
	target := shedTo(j.cfg.MaxWriters)
	for j.writers.n > target {
		var oldest indexKey
		var q *writerQueue
		for k, c := range j.writers.byKey {
			if q == nil || c.front().at < q.front().at {
				oldest, q = k, c
			}
		}
		j.writers.pop(oldest, q)
		j.droppedWriters++
	}
}

// Sweep joins the dumps that are ready, when no event comes to do it,
// and returns how many samples and writers were dropped so far for
// overload.
func (j *Joiner) Sweep() (droppedSamples, droppedWriters int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.sweep(j.now())
	return j.droppedSamples, j.droppedWriters
}

// Attribution joins the dumps that are ready and returns the attribution
// so far; the Joiner goes on.
func (j *Joiner) Attribution() *Attribution {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.sweep(j.now())
	return j.attribution()
}

// Flush joins every result in, whatever its grace, releases every event,
// and returns the run's attribution: the events are all in.
func (j *Joiner) Flush() *Attribution {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.joinOldest(-1)
	for j.waiting.len() > 0 {
		if b := j.waiting.pop(); !b.gone {
			j.release(b)
		}
	}
	j.writers = liveWriters{}
	return j.attribution()
}

func (j *Joiner) attribution() *Attribution {
	return &Attribution{Kinds: j.tally.kinds(j.cfg.Top), Dumps: slices.Clone(j.listed), OmittedDumps: j.omitted,
		DroppedSamples: j.droppedSamples, DroppedWriters: j.droppedWriters}
}
