package churn

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nltrace/nltrace/internal/netns"
)

// The benchmarks measure the engine against `ip -batch` doing the same
// operations in a namespace of its own, in the same run, and report the
// ratio (>1: the engine is faster). Run them with
//
//	sudo go test ./internal/churn -run '^$' -bench . -benchtime 1x
//
// Each iteration measures both for benchOps operations.

const benchOps = 600

func BenchmarkLinkChurnVsIPBatch(b *testing.B) {
	benchVsIP(b, Mix{LinkOps: 1}, func(i int, kind string) string {
		if i%2 == 0 {
			return fmt.Sprintf("link add ch-%d type %s%s", i/2, kind, peer(kind, i/2))
		}
		return fmt.Sprintf("link del ch-%d", i/2)
	})
}

func BenchmarkAddrChurnVsIPBatch(b *testing.B) {
	benchVsIP(b, Mix{Addr4Ops: 1}, func(i int, _ string) string {
		verb := "add"
		if i%2 == 1 {
			verb = "del"
		}
		return fmt.Sprintf("addr %s 10.255.%d.%d/32 dev st-0", verb, i/2/256, i/2%256)
	})
}

func peer(kind string, i int) string {
	if kind == "veth" {
		return fmt.Sprintf(" peer name cp-%d", i)
	}
	return ""
}

func benchVsIP(b *testing.B, mix Mix, line func(i int, kind string) string) {
	if _, err := exec.LookPath("ip"); err != nil {
		b.Skip("ip(8) is needed for the baseline")
	}
	var engineOps, ipOps float64
	for b.Loop() {
		e := start(b, Config{Links: 1, Mix: mix, Workers: 8})
		engineOps += engineRate(b, e)
		ipOps += ipBatchRate(b, e.LinkKind(), line)
	}
	n := float64(b.N)
	b.ReportMetric(engineOps/n, "engine-ops/s")
	b.ReportMetric(ipOps/n, "ip-batch-ops/s")
	b.ReportMetric(engineOps/ipOps, "ratio")
}

// engineRate runs the engine until it has done benchOps operations.
func engineRate(b *testing.B, e *Engine) float64 {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	begin := time.Now()
	for total(e.Counts()) < benchOps {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return float64(total(e.Counts())) / time.Since(begin).Seconds()
}

func total(c Counts) uint64 {
	var n uint64
	for _, v := range c.Ops {
		n += v
	}
	return n
}

// ipBatchRate times `ip -batch` doing benchOps operations in a fresh
// namespace with one stable device, as the engine's.
func ipBatchRate(b *testing.B, kind string, line func(i int, kind string) string) float64 {
	name := newName()
	if _, err := netns.Create(name); err != nil {
		b.Fatal(err)
	}
	defer netns.Delete(name)
	setup := fmt.Sprintf("link add st-0 type %s%s", kind, strings.Replace(peer(kind, 0), "cp-0", "st-1", 1))
	if out, err := exec.Command("ip", append([]string{"-n", name}, strings.Fields(setup)...)...).CombinedOutput(); err != nil {
		b.Fatalf("ip %s: %v: %s", setup, err, out)
	}
	var sb strings.Builder
	for i := range benchOps {
		sb.WriteString(line(i, kind) + "\n")
	}
	f, err := os.CreateTemp("", "nltrace-bench-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.Remove(f.Name())
	f.WriteString(sb.String())
	f.Close()
	begin := time.Now()
	if out, err := exec.Command("ip", "-n", name, "-batch", f.Name()).CombinedOutput(); err != nil {
		b.Fatalf("ip -batch: %v: %s", err, out)
	}
	return benchOps / time.Since(begin).Seconds()
}
