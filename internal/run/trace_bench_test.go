//go:build linux

package run

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nltrace/nltrace/internal/churn"
	"github.com/nltrace/nltrace/internal/repro"
	"github.com/nltrace/nltrace/internal/testenv"
	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

// BenchmarkTracedRunMemory makes traced churn runs of one and ten minutes
// and reports what the process holds: the live heap a tenth and nine
// tenths into the run, the growth per dump between the two, and the peak
// RSS (of the whole process: run one length at a time). A run that kept
// every sample grows by KBs a dump. It needs the probe, so it runs in a
// guest (about 12 minutes under emulation):
//
//	go run ./scripts/vmtest -kernels 6.12 -pkg ./internal/run -bench 'TracedRunMemory/10m' -timeout 20m -test-timeout 15m
func BenchmarkTracedRunMemory(b *testing.B) {
	for _, length := range []time.Duration{time.Minute, 10 * time.Minute} {
		b.Run(length.String(), func(b *testing.B) {
			testenv.Root(b)
			p, err := probe.Open(probe.Config{})
			if err != nil && !errors.Is(err, probe.ErrUnavailable) {
				b.Fatalf("the probe is broken, not unavailable: %v", err)
			}
			testenv.Need(b, "fentry", err)
			p.Close()
			for b.Loop() {
				tracedRunMemory(b, length)
			}
		})
	}
}

func tracedRunMemory(b *testing.B, length time.Duration) {
	kinds := []nlclient.Kind{nlclient.Link, nlclient.Addr4, nlclient.Addr6}
	var dumps atomic.Int64
	// Taken while the run goes: once it ends its join is garbage.
	type mark struct{ heap, dumps int64 }
	var early, late mark
	started := make(chan struct{})
	hooks := Hooks{
		Started: func(Start) { close(started) },
		Dump:    func(repro.Dump) { dumps.Add(1) },
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-started
		time.Sleep(length / 10)
		early = mark{testenv.LiveHeap(), dumps.Load()}
		time.Sleep(length * 8 / 10)
		late = mark{testenv.LiveHeap(), dumps.Load()}
	}()
	rep, err := Run(context.Background(), Config{
		Kinds: kinds, Dumpers: 2, Duration: length,
		Namespace: &churn.Config{Links: 100, Addrs: 100, Addrs6: 50, Mix: churn.MixFor(kinds), Workers: 2},
		Trace:     Trace{Mode: TraceRequired},
	}, hooks)
	if err != nil {
		b.Fatal(err)
	}
	<-done
	n := dumps.Load()
	if rep.Trace == nil || rep.Trace.Backend == "" {
		b.Fatalf("no attribution: %+v", rep.Trace)
	}
	var interrupted, explained, unmatched int
	for _, k := range rep.Trace.Kinds {
		interrupted += k.Interrupted
		explained += k.Explained
		unmatched += k.Unmatched + k.Mismatched
	}
	b.Logf("%v: %d dumps, %d interrupted, %d explained, %d without samples or disagreeing, %d listed, %d omitted, %d samples and %d writers dropped, %d ring buffer drops",
		length, n, interrupted, explained, unmatched, len(rep.Trace.Dumps), rep.Trace.OmittedDumps, rep.Trace.DroppedSamples, rep.Trace.DroppedWriters, rep.Trace.Drops)
	// Bounded memory must not cost explanations.
	if explained != interrupted || unmatched > 0 {
		b.Errorf("%d of %d interrupted dumps explained, %d without samples or disagreeing with the kernel", explained, interrupted, unmatched)
	}
	b.ReportMetric(float64(n)/length.Seconds(), "dumps/s")
	b.ReportMetric(testenv.MiB(early.heap), "heap-10%-MB")
	b.ReportMetric(testenv.MiB(late.heap), "heap-90%-MB")
	if late.dumps > early.dumps {
		b.ReportMetric(float64(late.heap-early.heap)/float64(late.dumps-early.dumps), "growth-B/dump")
	}
	if rss, err := testenv.PeakRSS(); err == nil {
		b.ReportMetric(testenv.MiB(rss), "peak-RSS-MB")
	} else {
		b.Log(err)
	}
}
