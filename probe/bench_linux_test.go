//go:build linux

package probe_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/nltrace/nltrace/internal/testenv"
	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

// BenchmarkLinkDump measures a 300-link dump with the probe detached,
// attached with each backend, and attached but filtering another
// namespace out (the cost a busy host pays for dumps nltrace ignores).
// Compare ns/op of the sub-benchmarks of one run.
func BenchmarkLinkDump(b *testing.B) {
	testenv.Root(b)
	cs, inode := testNetNSClients(b, 2)
	addLinks(b, cs[1], "d", 300)
	cases := []struct {
		name    string
		backend probe.Backend
		attach  bool
		netns   uint64
	}{
		{"detached", 0, false, 0},
		{"fentry", probe.Fentry, true, inode},
		{"kprobe", probe.Kprobe, true, inode},
		{"fentry-other-netns", probe.Fentry, true, inode + 1},
		{"kprobe-other-netns", probe.Kprobe, true, inode + 1},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			var events atomic.Int64
			var p *probe.Probe
			if bc.attach {
				p = openProbe(b, probe.Config{Backend: bc.backend, NetNS: bc.netns})
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error)
				go func() { done <- p.Run(ctx, func(any) { events.Add(1) }) }()
				defer func() {
					cancel()
					if err := <-done; err != nil {
						b.Error(err)
					}
				}()
			}
			for b.Loop() {
				if _, err := cs[0].Dump(context.Background(), nlclient.Link, nlclient.Options{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(events.Load())/float64(b.N), "events/op")
			if p != nil {
				if drops, err := p.Drops(); err != nil || drops > 0 {
					b.Errorf("%d events dropped (%v)", drops, err)
				}
			}
		})
	}
}

// BenchmarkOverhead alternates rounds of link dumps with the probe
// detached and attached, so that a noisy host (the kernel matrix runs under
// emulation) slows both alike; it reports the time per dump of each and
// the slowdown in percent. Each iteration is one round of both. The
// other-netns cases filter the dumps out in the kernel: the cost of the
// hooks alone. prog-ns/dump, measured after the rounds with kernel BPF
// statistics on, is the time spent inside the programs.
func BenchmarkOverhead(b *testing.B) {
	testenv.Root(b)
	cs, inode := testNetNSClients(b, 2)
	addLinks(b, cs[1], "d", 300)
	const dumps = 20
	// Loading the probe allocates (kernel symbols, BTF): collect that
	// garbage before timing, as a long run would have long since, and
	// let deferred kernel work finish.
	quiesce := func() {
		runtime.GC()
		time.Sleep(200 * time.Millisecond)
	}
	run := func() time.Duration {
		start := time.Now()
		for range dumps {
			if _, err := cs[0].Dump(context.Background(), nlclient.Link, nlclient.Options{}); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	// The no-reader cases leave the events in the ring buffer (a few
	// hundred kilobytes per round): the cost of the kernel side alone.
	cases := []struct {
		name    string
		backend probe.Backend
		netns   uint64
		reader  bool
	}{
		{"fentry", probe.Fentry, inode, true},
		{"kprobe", probe.Kprobe, inode, true},
		{"fentry-no-reader", probe.Fentry, inode, false},
		{"kprobe-no-reader", probe.Kprobe, inode, false},
		{"fentry-other-netns", probe.Fentry, inode + 1, true},
		{"kprobe-other-netns", probe.Kprobe, inode + 1, true},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			var detached, attached time.Duration
			var drops uint64
			open := func() (*probe.Probe, func()) {
				p := openProbe(b, probe.Config{Backend: bc.backend, NetNS: bc.netns})
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				if bc.reader {
					go func() { done <- p.Run(ctx, func(any) {}) }()
				} else {
					done <- nil
				}
				return p, func() {
					cancel()
					if err := <-done; err != nil {
						b.Error(err)
					}
					n, err := p.Drops()
					if err != nil {
						b.Error(err)
					}
					drops += n
					p.Close()
				}
			}
			// Rounds alternate which half goes first, and each half starts
			// quiet: detaching leaves deferred work (RCU, trampoline
			// teardown) that would otherwise land on the next half.
			attachedRound := func() {
				b.StopTimer()
				_, stop := open()
				quiesce()
				b.StartTimer()
				attached += run()
				b.StopTimer()
				stop()
				quiesce()
				b.StartTimer()
			}
			round := 0
			for b.Loop() {
				if round%2 == 1 {
					attachedRound()
				}
				detached += run()
				if round%2 == 0 {
					attachedRound()
				}
				round++
			}
			b.StopTimer()
			n := float64(b.N * dumps)
			b.ReportMetric(float64(detached.Nanoseconds())/n, "detached-ns/dump")
			b.ReportMetric(float64(attached.Nanoseconds())/n, "attached-ns/dump")
			b.ReportMetric(100*(float64(attached)/float64(detached)-1), "slowdown-%")
			b.ReportMetric(float64(drops), "drops")

			stats, err := ebpf.EnableStats(0) // BPF_STATS_RUN_TIME
			if err != nil {
				b.Logf("no BPF statistics: %v", err)
				return
			}
			defer stats.Close()
			p, stop := open()
			defer stop()
			run()
			rt, runs, err := p.RunTime()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(rt.Nanoseconds())/dumps, "prog-ns/dump")
			b.ReportMetric(float64(runs)/dumps, "prog-runs/dump")
		})
	}
}
