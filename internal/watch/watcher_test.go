package watch

import (
	"testing"
	"time"

	"github.com/nltrace/nltrace/internal/correlate"
	"github.com/nltrace/nltrace/probe"
)

// TestWatcherCountsDumpsInTheOrderTheyStarted: vishvananda/netlink v1.2.1
// drops its socket at the first flagged chunk and dumps again at once. The
// abandoned dump is joined only once its samples stop, after its retry,
// which ends normally: the retry must still count as one.
// testWatcher is a watcher without a probe, fed by the test, on a clock
// the test moves.
type testWatcher struct {
	*watcher
	now     time.Time
	records []*Interrupted
	stops   int
}

func newTestWatcher(cfg Config) *testWatcher {
	t := &testWatcher{now: time.Unix(0, 0)}
	t.watcher = &watcher{cfg: cfg, dumpers: newDumpers(), metrics: newMetrics("test", ""), stop: func() { t.stops++ }}
	t.cfg.OnRecord = func(r any) { t.records = append(t.records, r.(*Interrupted)) }
	t.join = correlate.NewJoiner(correlate.JoinerConfig{FromSamples: true, SampleTimeout: 2 * time.Second, Grace: time.Second,
		Clock: func() time.Time { return t.now }, OnDump: t.dump})
	return t
}

// step moves the clock by d, hands evs in, and releases what is ready,
// as the watcher's sweep does.
func (t *testWatcher) step(d time.Duration, evs ...any) {
	t.now = t.now.Add(d)
	for _, e := range evs {
		t.join.Event(e)
	}
	t.join.Sweep()
	oldest, waiting := t.join.Waiting()
	t.release(oldest, !waiting)
}

// chunk is a link dump's chunk on port, built at at, whose handler read
// seq after the previous chunk's prev (0: the first chunk).
func chunk(port uint32, at uint64, seq uint32, prev uint32, done bool) *probe.Sample {
	s := &probe.Sample{Start: at, End: at + 10, NetNS: 1, PortID: port, Seq: 1, PID: 7, TID: 7, Comm: "client",
		Handler: "rtnl_dump_ifinfo", PrevSeqBefore: prev, SeqAfter: seq, Counters: probe.Counters{DevBaseSeq: seq}, Bytes: 4000}
	s.Flagged = prev != 0 && prev != seq
	if done {
		s.Bytes, s.Done = 0, true
	}
	return s
}

func TestWatcherCountsDumpsInTheOrderTheyStarted(t *testing.T) {
	w := newTestWatcher(Config{})
	step := w.step
	// The abandoned attempt: chunk 2 flagged, no NLMSG_DONE.
	step(0, chunk(1, 100, 5, 0, false), chunk(1, 200, 6, 5, false),
		&probe.Writer{Op: probe.Register, Counter: probe.DevBaseSeq, Before: 5, NetNS: 1, PID: 9, Comm: "ip"})
	// The retry, on a new socket, ends 100 ns later.
	step(10*time.Millisecond, chunk(2, 300, 6, 0, false), chunk(2, 400, 6, 6, true))
	step(1500 * time.Millisecond) // the retry is joined, the attempt not yet
	if len(w.records) != 0 || w.dumps != 0 {
		t.Fatalf("counted %d dumps before the one that started first", w.dumps)
	}
	step(time.Second)
	if len(w.records) != 1 || !w.records[0].Explained || w.records[0].Attempt != 1 {
		t.Fatalf("records %+v, want the abandoned attempt, explained", w.records)
	}
	d := w.dumpers.summary(5)[0]
	if d.Dumps != 2 || d.Interrupted != 1 || d.Retries != 1 {
		t.Errorf("figures %+v, want 2 dumps, 1 interrupted, 1 retry", d)
	}
}

// TestWatcherUntil: --until N lists N interrupted dumps and stops once,
// however many more are joined while the watch stops.
func TestWatcherUntil(t *testing.T) {
	w := newTestWatcher(Config{Until: 2})
	var evs []any
	for i := range uint32(5) {
		at := uint64(i) * 1000
		evs = append(evs, chunk(10+i, at, 5+2*i, 0, false), chunk(10+i, at+100, 6+2*i, 5+2*i, false), chunk(10+i, at+200, 6+2*i, 6+2*i, true))
	}
	w.step(0, evs...)
	w.step(5 * time.Second)
	if len(w.records) != 2 || w.stops != 1 || w.interrupted != 5 {
		t.Errorf("%d records, %d stops, %d interrupted counted; want 2 records, 1 stop, 5 counted", len(w.records), w.stops, w.interrupted)
	}
}
