package correlate

import (
	"fmt"
	"os"
	"runtime"
	"testing"

	"github.com/nltrace/nltrace/nlclient"
)

// liveHeap is the heap still reachable.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// joinSink is a join fed a run's events: the Joiner, or the Collector
// that tracers used before it.
type joinSink interface {
	take(timed)
	// done joins what is still held, so that the sink stays reachable
	// until the measure is taken.
	done() *Attribution
}

type streamSink struct {
	j     *Joiner
	clock *fakeClock
}

func newStreamSink() *streamSink {
	clock := &fakeClock{}
	return &streamSink{j: NewJoiner(JoinerConfig{Clock: clock.Time}), clock: clock}
}

func (s *streamSink) take(e timed)       { feed(s.j, s.clock, e) }
func (s *streamSink) done() *Attribution { return s.j.Flush() }

type batchSink struct{ c Collector }

func (s *batchSink) take(e timed) { collect(&s.c, e) }
func (s *batchSink) done() *Attribution {
	return &Attribution{Dumps: make([]*Dump, len(s.c.results))}
}

// retained plays a run of the given number of dumps into sink and
// returns the live heap it holds after each of the marks (dumps in).
func retained(sink joinSink, dumps int, marks ...int) []int64 {
	cfg := churny
	cfg.Dumps, cfg.Seed = dumps, 2
	base := liveHeap()
	var out []int64
	results := 0
	simulate(cfg, func(e timed) {
		sink.take(e)
		if _, ok := e.ev.(*nlclient.Result); ok {
			results++
			if len(out) < len(marks) && results == marks[len(out)] {
				out = append(out, liveHeap()-base)
			}
		}
	})
	runtime.KeepAlive(sink.done())
	return out
}

// TestJoinerMemoryIsBounded plays two minutes of a churned run at 1,000
// dumps a second: from 30 s on, the Joiner's memory must stay flat,
// where the Collector's grows with every dump.
func TestJoinerMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("plays two minutes of events")
	}
	if os.Getenv("NLTRACE_VMTEST_GUEST") != "" {
		// Nothing here depends on the kernel, and the collector's 170 MB
		// crowd a 1 GB guest.
		t.Skip("in a vmtest guest")
	}
	const from, to = 30000, 120000
	perDump := func(heap []int64) float64 { return float64(heap[1]-heap[0]) / (to - from) }
	batch := retained(&batchSink{}, to, from, to)
	stream := retained(newStreamSink(), to, from, to)
	t.Logf("live heap after %d and %d dumps: collector %.1f and %.1f MB (%.0f B/dump), joiner %.1f and %.1f MB (%.1f B/dump)",
		from, to, mb(batch[0]), mb(batch[1]), perDump(batch), mb(stream[0]), mb(stream[1]), perDump(stream))
	// The control: the measure sees what a join keeps.
	if perDump(batch) < 1000 {
		t.Fatalf("the collector grew by %.0f B/dump: the measure misses what it keeps", perDump(batch))
	}
	if perDump(stream) > 10 || mb(stream[1]) > 32 {
		t.Errorf("the joiner grew by %.1f B/dump to %.1f MB: its memory is not bounded", perDump(stream), mb(stream[1]))
	}
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// BenchmarkJoinMemory plays runs of 1,000 dumps a second into the
// Collector (everything kept, then joined) and the Joiner, and reports
// the live heap each holds at the end of the run, before the final join:
//
//	go test ./internal/correlate -run '^$' -bench JoinMemory -benchtime 1x
func BenchmarkJoinMemory(b *testing.B) {
	for _, minutes := range []int{1, 10, 30} {
		dumps := minutes * 60 * 1000
		for _, sink := range []string{"collector", "joiner"} {
			if sink == "collector" && minutes > 10 {
				continue // 4 GB; 10 minutes make the point
			}
			b.Run(fmt.Sprintf("%s/%dmin", sink, minutes), func(b *testing.B) {
				var heap int64
				for b.Loop() {
					var s joinSink = newStreamSink()
					if sink == "collector" {
						s = &batchSink{}
					}
					heap = retained(s, dumps, dumps)[0]
				}
				b.ReportMetric(mb(heap), "retained-MB")
				b.ReportMetric(float64(heap)/float64(dumps), "retained-B/dump")
			})
		}
	}
}
