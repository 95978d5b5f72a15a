package correlate

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

// churny is a run where every case the join handles happens: interrupted
// and clean dumps, retries, bumps seen a chunk late, a counter wrapping,
// lost samples, flags userspace and the kernel disagree on, other
// programs' dumps, writers in another namespace.
var churny = simConfig{Seed: 1, Dumps: 12000, Bumps: 0.08, Late: 0.02, Retry: 0.5, Backoff: 5 * time.Millisecond,
	Exec: 0.1, Drop: 0.003, Mismatch: 0.005, Lag: 30 * time.Millisecond, ResultLag: time.Millisecond}

// batch is today's join of the events, in their arrival order.
func batch(evs []timed, top int) *Attribution {
	var c Collector
	for _, e := range evs {
		collect(&c, e)
	}
	return NewAttribution(c.Join(), top)
}

// stream feeds the events to a Joiner at their arrival times and flushes
// it, returning the Joiner too for its figures.
func stream(evs []timed, cfg JoinerConfig) (*Attribution, *Joiner) {
	a, j, _ := streamPeak(evs, cfg)
	return a, j
}

// held is how many events a Joiner holds.
type held struct{ samples, writers int }

// streamPeak is stream, also returning the most events the Joiner held.
func streamPeak(evs []timed, cfg JoinerConfig) (*Attribution, *Joiner, held) {
	clock := &fakeClock{}
	cfg.Clock = clock.Time
	j := NewJoiner(cfg)
	var peak held
	for _, e := range evs {
		feed(j, clock, e)
		peak.samples, peak.writers = max(peak.samples, j.nsamples), max(peak.writers, j.writers.n)
	}
	return j.Flush(), j, peak
}

func sameAttribution(t *testing.T, got, want *Attribution) {
	t.Helper()
	g, _ := json.MarshalIndent(got, "", " ")
	w, _ := json.MarshalIndent(want, "", " ")
	if !bytes.Equal(g, w) {
		gl, wl := strings.Split(string(g), "\n"), strings.Split(string(w), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("streaming join differs from the batch join at line %d of the JSON: got %q, want %q (%d and %d dumps listed)",
					i+1, gl[i], wl[i], len(got.Dumps), len(want.Dumps))
			}
		}
		t.Fatalf("streaming join differs from the batch join: %d lines of JSON, want %d", len(gl), len(wl))
	}
	for i, d := range got.Dumps {
		if d.Interrupted() != want.Dumps[i].Interrupted() || d.Explained() != want.Dumps[i].Explained() {
			t.Fatalf("dump %d: interrupted %v explained %v, want %v %v", i, d.Interrupted(), d.Explained(), want.Dumps[i].Interrupted(), want.Dumps[i].Explained())
		}
	}
}

// TestSimCoversTheJoin checks that the synthetic run is worth comparing
// joins on: a comparison of two empty attributions proves nothing.
func TestSimCoversTheJoin(t *testing.T) {
	a := batch(events(churny), 5)
	var late, retried, done, unaligned, wrapped int
	for _, d := range a.Dumps {
		late += countIf(d.Interruptions, func(in *Interruption) bool { return in.Late })
		done += countIf(d.Interruptions, func(in *Interruption) bool { return in.Done })
		unaligned += countIf(d.Interruptions, func(in *Interruption) bool { return d.Missing != "" && len(in.Writers) > 0 })
		wrapped += countIf(d.Interruptions, func(in *Interruption) bool {
			return countIf(in.Moves, func(m Move) bool { return m.To < m.From }) > 0
		})
		if d.Result.Attempt > 1 {
			retried++
		}
	}
	if len(a.Kinds) != 3 {
		t.Fatalf("kinds %+v", a.Kinds)
	}
	for _, k := range a.Kinds {
		t.Logf("%v: %d dumps, %d interrupted, %d explained, %d lost, %d mismatched, %d unmatched, culprits %v",
			k.Kind, k.Dumps, k.Interrupted, k.Explained, k.Lost, k.Mismatched, k.Unmatched, k.Culprits)
		if k.Interrupted < 100 || k.Explained == 0 || k.Explained == k.Interrupted || k.Mismatched == 0 || k.Unmatched == 0 || k.Lost == 0 || len(k.Culprits) == 0 {
			t.Errorf("%v: the run does not exercise the join", k.Kind)
		}
	}
	t.Logf("%d dumps listed: %d late, %d flagged NLMSG_DONE, %d explained without chunk numbers, %d across a counter's wrap, %d retries",
		len(a.Dumps), late, done, unaligned, wrapped, retried)
	if late == 0 || done == 0 || unaligned == 0 || wrapped == 0 || retried == 0 {
		t.Error("some case never happens")
	}
}

func countIf[T any](s []T, f func(T) bool) int {
	n := 0
	for _, v := range s {
		if f(v) {
			n++
		}
	}
	return n
}

// TestJoinerMatchesJoin joins the same synthetic runs as they arrive and
// all at once: the attributions must be the same, although the Joiner
// joined each dump within seconds and released its samples and writers.
func TestJoinerMatchesJoin(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*simConfig)
	}{
		{"in order", func(c *simConfig) { c.Lag, c.ResultLag = 0, 0 }},
		// The usual case: each result before its last samples.
		{"ring buffer batches", func(*simConfig) {}},
		{"results after their samples", func(c *simConfig) { c.Lag, c.ResultLag = 0, 400*time.Millisecond }},
		// Samples and writers up to 0.8 s after the result, well out of
		// order among themselves: within the grace.
		{"late samples", func(c *simConfig) { c.Lag = 800 * time.Millisecond }},
		// Attempts apart by more than the writer window: their writers
		// must stay while a later attempt runs.
		{"slow retries", func(c *simConfig) {
			c.Dumps, c.Retry, c.Backoff, c.Attempts = 2000, 1, 1500*time.Millisecond, 3
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := churny
			tt.cfg(&cfg)
			evs := events(cfg)
			want := batch(evs, 5)
			// Samples without a result pin writers until they time out:
			// a shorter timeout than the default shows the release in a
			// short run.
			got, _, peak := streamPeak(evs, JoinerConfig{MaxDumps: -1, SampleTimeout: 4 * time.Second})
			sameAttribution(t, got, want)
			// Joined and released as the run went, not at the end.
			var all held
			for _, e := range evs {
				switch e.ev.(type) {
				case *probe.Sample:
					all.samples++
				case *probe.Writer:
					all.writers++
				}
			}
			if peak.samples > all.samples/2 || peak.writers > all.writers/2 {
				t.Errorf("the joiner held up to %d of %d samples and %d of %d writers", peak.samples, all.samples, peak.writers, all.writers)
			}
			if got.OmittedDumps != 0 || got.DroppedSamples != 0 || got.DroppedWriters != 0 {
				t.Errorf("omitted %d dumps, dropped %d samples and %d writers", got.OmittedDumps, got.DroppedSamples, got.DroppedWriters)
			}
		})
	}
}

// TestJoinerWaitsForLateSamples pins the grace: samples and writers that
// come after the result, within the grace, are joined to it.
func TestJoinerWaitsForLateSamples(t *testing.T) {
	clock := &fakeClock{}
	j := NewJoiner(JoinerConfig{Grace: time.Second, Clock: clock.Time})
	j.Result(linkDump(4, 3))
	for _, at := range []time.Duration{300 * time.Millisecond, 900 * time.Millisecond} {
		clock.now = at
		for _, s := range samples(10, 10, 11, 11) {
			if at < time.Second/2 && s.Start < 300 || at > time.Second/2 && s.Start >= 300 {
				j.Event(s)
			}
		}
	}
	j.Event(register("x", 10, ns))
	clock.now = 5 * time.Second
	a := j.Attribution()
	if len(a.Dumps) != 1 || !a.Dumps[0].Explained() || a.Dumps[0].Missing != "" {
		t.Fatalf("dumps %+v, want one explained", a.Dumps)
	}
	if j.nsamples != 0 || len(j.buckets) != 0 || j.pending.len() != 0 {
		t.Errorf("after the join: %d samples, %d buckets, %d results kept", j.nsamples, len(j.buckets), j.pending.len())
	}
}

// TestJoinerWaitsForAStalledReader: when the ring buffer's reader falls
// seconds behind (a busy or emulated CPU), samples come long after the
// result; the dump waits for its last sample, however late.
func TestJoinerWaitsForAStalledReader(t *testing.T) {
	clock := &fakeClock{}
	j := NewJoiner(JoinerConfig{Grace: time.Second, Clock: clock.Time})
	j.Result(linkDump(4, 3))
	clock.now = 3 * time.Second
	for _, s := range samples(10, 10, 11, 11) {
		j.Event(s)
	}
	j.Event(register("x", 10, ns))
	clock.now = 3500 * time.Millisecond
	if a := j.Attribution(); len(a.Dumps) != 0 {
		t.Fatalf("joined %+v before the grace after its last sample", a.Dumps[0])
	}
	clock.now = 4100 * time.Millisecond
	a := j.Attribution()
	if len(a.Dumps) != 1 || !a.Dumps[0].Explained() || a.Dumps[0].Missing != "" {
		t.Fatalf("dumps %+v, want one explained", a.Dumps)
	}
}

// TestJoinerWithoutTheLastSample: a dump whose last sample is lost is
// joined after the sample timeout with what came.
func TestJoinerWithoutTheLastSample(t *testing.T) {
	clock := &fakeClock{}
	j := NewJoiner(JoinerConfig{SampleTimeout: 10 * time.Second, Clock: clock.Time})
	j.Result(linkDump(4, 3))
	clock.now = 100 * time.Millisecond
	s := samples(10, 10, 11, 11)
	for _, s := range s[:len(s)-1] {
		j.Event(s)
	}
	j.Event(register("x", 10, ns))
	clock.now = 5 * time.Second
	if a := j.Attribution(); len(a.Dumps) != 0 {
		t.Fatal("joined before its last sample or the timeout")
	}
	clock.now = 10100 * time.Millisecond
	if a := j.Attribution(); len(a.Dumps) != 1 || !a.Dumps[0].Explained() {
		t.Fatalf("dumps %+v, want one explained", a.Dumps)
	}
}

// TestJoinerIsNotHeldBackByADumpWithoutItsLastSample: a dump waiting for
// its last sample keeps its place on the list, not the others' samples.
func TestJoinerIsNotHeldBackByADumpWithoutItsLastSample(t *testing.T) {
	clock := &fakeClock{}
	j := NewJoiner(JoinerConfig{SampleTimeout: 10 * time.Second, Clock: clock.Time})
	for i := range uint32(3) {
		r := linkDump(4, 3)
		r.Seq = seq + i
		j.Result(r)
		s := samples(10, 10, 11, 11)
		if i == 0 {
			s = s[:len(s)-1]
		}
		for _, s := range s {
			s.Seq = seq + i
			j.Event(s)
		}
	}
	j.Event(register("x", 10, ns))
	clock.now = 2 * time.Second
	if a := j.Attribution(); len(a.Dumps) != 0 || j.nsamples != 4 {
		t.Fatalf("%d dumps listed, %d samples kept: want the last two joined and unlisted, the first waiting", len(a.Dumps), j.nsamples)
	}
	clock.now = 10100 * time.Millisecond
	a := j.Attribution()
	if len(a.Dumps) != 3 || a.Dumps[0].Seq != seq || a.Dumps[2].Seq != seq+2 {
		t.Fatalf("dumps %+v, want the three in the order their results came", a.Dumps)
	}
}

// TestJoinerListsTheFirstDumps: past MaxDumps, dumps are counted, not
// kept, and the attribution says how many.
func TestJoinerListsTheFirstDumps(t *testing.T) {
	evs := events(churny)
	want := batch(evs, 5)
	got, j := stream(evs, JoinerConfig{MaxDumps: 10})
	if len(want.Dumps) <= 10 {
		t.Fatalf("only %d dumps to list", len(want.Dumps))
	}
	if got.OmittedDumps != len(want.Dumps)-10 {
		t.Errorf("omitted %d, want %d", got.OmittedDumps, len(want.Dumps)-10)
	}
	if len(j.listed) != 10 {
		t.Errorf("kept %d dumps, want 10", len(j.listed))
	}
	got.OmittedDumps, want.Dumps = 0, want.Dumps[:10]
	sameAttribution(t, got, want)
}

// TestJoinerForgetsSamplesWithoutResult: other programs' dumps never get
// a result; their samples go after the timeout, and that is no overload.
func TestJoinerForgetsSamplesWithoutResult(t *testing.T) {
	clock := &fakeClock{}
	j := NewJoiner(JoinerConfig{SampleTimeout: 5 * time.Second, Clock: clock.Time})
	for i := range 60000 {
		clock.now = time.Duration(i) * time.Millisecond
		for _, s := range samples(10, 10) {
			s.Seq, s.PortID = uint32(i), 9000
			j.Event(s)
		}
	}
	// 3 samples a millisecond, kept 5 s, swept a few times a second.
	if j.nsamples > 3*5500 || len(j.buckets) > 5500 || j.waiting.len() > 5500 {
		t.Errorf("after a minute: %d samples, %d buckets, %d waiting, want at most 5.5 s of them", j.nsamples, len(j.buckets), j.waiting.len())
	}
	if a := j.Flush(); a.DroppedSamples != 0 || a.Kinds != nil {
		t.Errorf("attribution %+v", a)
	}
}

// TestJoinerReleasesWriters: writers no waiting dump can use go once
// older than the window.
func TestJoinerReleasesWriters(t *testing.T) {
	clock := &fakeClock{}
	j := NewJoiner(JoinerConfig{WriterWindow: 2 * time.Second, Clock: clock.Time})
	for i := range 60000 {
		clock.now = time.Duration(i) * time.Millisecond
		j.Event(register("x", uint32(i), ns))
	}
	if j.writers.n > 2500 {
		t.Errorf("after a minute of writers: %d kept, want at most 2.5 s of them", j.writers.n)
	}
	if a := j.Flush(); a.DroppedWriters != 0 {
		t.Errorf("dropped %d writers", a.DroppedWriters)
	}
}

// TestJoinerForgetsRequestsAtAStillCounter: every device unregistered
// records a nexthop flush at the value of nexthop.seq, which stays put in
// a namespace without nexthops; the dumps always waiting must not keep
// those for the whole run. The request that does move it is still found.
func TestJoinerForgetsRequestsAtAStillCounter(t *testing.T) {
	clock := &fakeClock{}
	j := NewJoiner(JoinerConfig{Clock: clock.Time})
	nexthop := func(op probe.Op) *probe.Writer {
		return &probe.Writer{Time: uint64(clock.now), Op: op, Counter: probe.NexthopSeq, NetNS: ns, Ifname: "ch-0", Comm: "ip"}
	}
	for i := range 60000 {
		clock.now = time.Duration(i) * time.Millisecond
		r := linkDump(2)
		r.Seq = uint32(i)
		j.Result(r)
		for _, s := range samples(10, 10) {
			s.Seq = uint32(i)
			j.Event(s)
		}
		j.Event(nexthop(probe.NexthopFlush))
	}
	if j.writers.n > 2500 {
		t.Errorf("after a minute of flushes at a still counter: %d writers kept, want at most 2.5 s of them", j.writers.n)
	}
	// A nexthop dump sees the counter move between its two chunks.
	r := &nlclient.Result{Kind: nlclient.Nexthop, NetNSInode: ns, PortID: port, Seq: 1 << 20, FirstInterrupted: 2, Chunks: []nlclient.Chunk{
		{Index: 1, Messages: 5, Bytes: 500}, {Index: 2, Messages: 5, Bytes: 500, Interrupted: true}, {Index: 3, Messages: 1, Bytes: 20, Done: true}}}
	j.Result(r)
	j.Event(&probe.Sample{Start: 1, NetNS: ns, PortID: port, Seq: 1 << 20, Bytes: 500})
	j.Event(nexthop(probe.NexthopNew))
	j.Event(&probe.Sample{Start: 2, NetNS: ns, PortID: port, Seq: 1 << 20, Bytes: 500, Flagged: true, Counters: probe.Counters{NexthopSeq: 1}})
	j.Event(&probe.Sample{Start: 3, NetNS: ns, PortID: port, Seq: 1 << 20, Done: true, Counters: probe.Counters{NexthopSeq: 1}})
	a := j.Flush()
	if len(a.Dumps) != 1 || !a.Dumps[0].Explained() {
		t.Fatalf("the nexthop dump is not explained: %+v", a.Dumps)
	}
	ws := a.Dumps[0].Interruptions[0].Writers
	if len(ws) > 2500 || !slices.ContainsFunc(ws, func(w *probe.Writer) bool { return w.Op == probe.NexthopNew }) {
		t.Errorf("%d writers explain the dump, want the nexthop request among at most 2.5 s of flushes", len(ws))
	}
}

// TestJoinerCountsOverload: past its limits the Joiner drops events and
// says how many.
func TestJoinerCountsOverload(t *testing.T) {
	clock := &fakeClock{}
	j := NewJoiner(JoinerConfig{MaxSamples: 1000, MaxWriters: 1000, Clock: clock.Time})
	for i := range 3000 {
		for _, s := range samples(10, 10) {
			s.Seq, s.PortID = uint32(i), 9000
			j.Event(s)
		}
		// All still needed by the samples waiting: only the limit drops them.
		j.Event(register("x", 10+uint32(i), ns))
		if j.nsamples > 1000 || j.writers.n > 1000 {
			t.Fatalf("%d samples, %d writers kept, limits 1000", j.nsamples, j.writers.n)
		}
	}
	a := j.Flush()
	if a.DroppedSamples < 9000-1000 || a.DroppedWriters < 3000-1000 {
		t.Errorf("dropped %d samples and %d writers, want at least 8000 and 2000", a.DroppedSamples, a.DroppedWriters)
	}
}

// TestJoinerOverloadJoinsEarly: results waiting for their grace are
// joined early rather than dropped when samples overflow.
func TestJoinerOverloadJoinsEarly(t *testing.T) {
	clock := &fakeClock{}
	j := NewJoiner(JoinerConfig{MaxSamples: 10, Clock: clock.Time})
	for i := range 20 {
		r := linkDump(2)
		r.Seq = uint32(i)
		j.Result(r)
		for _, s := range samples(10, 10) {
			s.Seq = uint32(i)
			j.Event(s)
		}
	}
	if j.nsamples > 10 {
		t.Errorf("%d samples kept, limit 10", j.nsamples)
	}
	a := j.Flush()
	if a.DroppedSamples != 0 || len(a.Kinds) != 1 || a.Kinds[0].Dumps != 20 || a.Kinds[0].Unmatched != 0 {
		t.Errorf("attribution %+v", a)
	}
}

func TestJoinerOnDump(t *testing.T) {
	var seen []*Dump
	var n int
	j := NewJoiner(JoinerConfig{OnDump: func(d *Dump) { seen, n = append(seen, d), len(d.Samples) }})
	for _, s := range samples(10, 10, 11, 11) {
		j.Event(s)
	}
	j.Event(register("x", 10, ns))
	r := linkDump(4, 3)
	r.Objects = make([]nlclient.Object, 40)
	j.Result(r)
	a := j.Flush()
	if len(seen) != 1 || n != 5 || !seen[0].Explained() {
		t.Fatalf("OnDump saw %+v", seen)
	}
	if a.Dumps[0].Samples != nil || a.Dumps[0].Result.Objects != nil {
		t.Errorf("a listed dump keeps its samples or objects")
	}
}

// TestJoinerFromSamples: with no results, dumps made from their samples
// are joined as the dumpers' results would have been, where the kernel's
// flags are what the dumpers received.
func TestJoinerFromSamples(t *testing.T) {
	cfg := churny
	cfg.Mismatch, cfg.Drop, cfg.Exec = 0, 0, 0
	evs := events(cfg)
	want := batch(evs, 5)
	var kernel []timed
	for _, e := range evs {
		if _, ok := e.ev.(*nlclient.Result); !ok {
			kernel = append(kernel, e)
		}
	}
	got, j := stream(kernel, JoinerConfig{MaxDumps: -1, FromSamples: true})
	// Listed in the order their first samples came, not their results.
	byKey := func(a, b *Dump) int {
		return cmp.Or(cmp.Compare(a.PortID, b.PortID), cmp.Compare(a.Seq, b.Seq))
	}
	slices.SortFunc(got.Dumps, byKey)
	slices.SortFunc(want.Dumps, byKey)
	// The caller keeps its figures from OnDump: no tally by kind.
	want.Kinds = nil
	sameAttribution(t, got, want)
	if j.pending.len() != 0 || len(j.buckets) != 0 {
		t.Errorf("after the flush: %d dumps pending, %d buckets", j.pending.len(), len(j.buckets))
	}
}

// TestJoinerFromSamplesWaitsForALongDump: a dump read slowly, a chunk a
// second for longer than the sample timeout, is one dump, not several.
func TestJoinerFromSamplesWaitsForALongDump(t *testing.T) {
	clock := &fakeClock{}
	var dumps []*Dump
	j := NewJoiner(JoinerConfig{FromSamples: true, SampleTimeout: 2 * time.Second, Clock: clock.Time,
		OnDump: func(d *Dump) { dumps = append(dumps, d) }})
	ss := samples(10, 10, 10, 10, 10)
	for i, s := range ss {
		clock.now = time.Duration(i) * time.Second
		j.Event(s)
	}
	clock.now += 5 * time.Second
	j.Sweep()
	if len(dumps) != 1 || len(dumps[0].Result.Chunks) != 6 {
		t.Fatalf("%d dumps joined, want one of 6 chunks", len(dumps))
	}
}

// TestJoinerFromSamplesTellsDumpsOfOneKeyApart: Go's net package dumps
// with seq 1 from a port that is the process's id, so net.InterfaceAddrs
// makes a link dump and an address dump of one key, back to back, and a
// daemon calling it every half second makes many. Each is its own dump.
func TestJoinerFromSamplesTellsDumpsOfOneKeyApart(t *testing.T) {
	clock := &fakeClock{}
	var dumps []*Dump
	j := NewJoiner(JoinerConfig{FromSamples: true, Clock: clock.Time, OnDump: func(d *Dump) { dumps = append(dumps, d) }})
	at := uint64(0)
	dump := func(handler string, chunks int) {
		for i := 0; i <= chunks; i++ {
			at += 100
			s := &probe.Sample{Start: at, End: at + 50, NetNS: ns, PortID: port, Seq: 1, Handler: handler,
				Counters: probe.Counters{DevBaseSeq: 10}, PrevSeqBefore: 10, SeqAfter: 10, Bytes: 4000}
			if i == chunks {
				s.Bytes, s.Done = 0, true
			}
			j.Event(s)
		}
	}
	for range 10 {
		dump("rtnl_dump_ifinfo", 3)
		dump("inet_dump_ifaddr", 1)
		clock.now += 500 * time.Millisecond
		j.Sweep()
	}
	clock.now += 5 * time.Second
	j.Sweep()
	if len(dumps) != 20 {
		t.Fatalf("%d dumps joined, want 20", len(dumps))
	}
	for i, d := range dumps {
		want, chunks := nlclient.Link, 4
		if i%2 == 1 {
			want, chunks = nlclient.Addr4, 2
		}
		if d.Kind != want || len(d.Result.Chunks) != chunks {
			t.Errorf("dump %d: %v of %d chunks, want %v of %d", i, d.Kind, len(d.Result.Chunks), want, chunks)
		}
	}
}
