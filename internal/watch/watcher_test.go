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
func TestWatcherCountsDumpsInTheOrderTheyStarted(t *testing.T) {
	now := time.Unix(0, 0)
	w := &watcher{dumpers: newDumpers(), metrics: newMetrics("test", ""), stop: func() {}}
	var records []*Interrupted
	w.cfg.OnRecord = func(r any) { records = append(records, r.(*Interrupted)) }
	w.join = correlate.NewJoiner(correlate.JoinerConfig{FromSamples: true, SampleTimeout: 2 * time.Second, Grace: time.Second,
		Clock: func() time.Time { return now }, OnDump: w.dump})
	chunk := func(port uint32, at uint64, seq uint32, prev uint32, done bool) *probe.Sample {
		s := &probe.Sample{Start: at, End: at + 10, NetNS: 1, PortID: port, Seq: 1, PID: 7, TID: 7, Comm: "client",
			Handler: "rtnl_dump_ifinfo", PrevSeqBefore: prev, SeqAfter: seq, Counters: probe.Counters{DevBaseSeq: seq}, Bytes: 4000}
		s.Flagged = prev != 0 && prev != seq
		if done {
			s.Bytes, s.Done = 0, true
		}
		return s
	}
	step := func(d time.Duration, evs ...any) {
		now = now.Add(d)
		for _, e := range evs {
			w.join.Event(e)
		}
		w.join.Sweep()
		oldest, waiting := w.join.Waiting()
		w.release(oldest, !waiting)
	}
	// The abandoned attempt: chunk 2 flagged, no NLMSG_DONE.
	step(0, chunk(1, 100, 5, 0, false), chunk(1, 200, 6, 5, false),
		&probe.Writer{Op: probe.Register, Counter: probe.DevBaseSeq, Before: 5, NetNS: 1, PID: 9, Comm: "ip"})
	// The retry, on a new socket, ends 100 ns later.
	step(10*time.Millisecond, chunk(2, 300, 6, 0, false), chunk(2, 400, 6, 6, true))
	step(1500 * time.Millisecond) // the retry is joined, the attempt not yet
	if len(records) != 0 || w.dumps != 0 {
		t.Fatalf("counted %d dumps before the one that started first", w.dumps)
	}
	step(time.Second)
	if len(records) != 1 || !records[0].Explained || records[0].Attempt != 1 {
		t.Fatalf("records %+v, want the abandoned attempt, explained", records)
	}
	d := w.dumpers.summary(5)[0]
	if d.Dumps != 2 || d.Interrupted != 1 || d.Retries != 1 {
		t.Errorf("figures %+v, want 2 dumps, 1 interrupted, 1 retry", d)
	}
}
