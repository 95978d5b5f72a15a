//go:build linux

package testenv

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
)

// Median returns the median of v, which it leaves as it is.
func Median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// LiveHeap collects the garbage and returns the heap still reachable.
func LiveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// MiB is b bytes in MiB, for b.ReportMetric.
func MiB(b int64) float64 { return float64(b) / (1 << 20) }

// PeakRSS reads VmHWM, the process's resident set at its largest.
func PeakRSS() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb); err != nil {
				return 0, err
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmHWM in /proc/self/status")
}

// ResetPeakRSS sets VmHWM back to the resident set of now, so that a
// benchmark's peak is not an earlier one's in the same process.
func ResetPeakRSS() error {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// ABBA is one overhead measurement: Run, which makes Ops operations of
// Unit and returns the time they took, alternately with something
// detached and attached.
type ABBA struct {
	Ops  float64
	Unit string
	Run  func() time.Duration
	// Attach attaches what is measured, and returns what detaches it.
	Attach func() (detach func())
	// Percent names the metric of the slowdown ("slowdown-%" if empty).
	Percent string
}

// Bench makes one round per iteration, each a detached and an attached
// half, alternating which goes first (ABBA), and reports the median over
// rounds of the time per operation of each half and of the round's
// slowdown in percent: a burst of load elsewhere spoils a round, not the
// figure. A round during which some other tracing program was loaded
// (another test attaching a probe: its programs run on the same calls) is
// left out and counted in foreign-rounds. It reports whether any round
// was kept.
func (a ABBA) Bench(b *testing.B) bool {
	// Attaching allocates (kernel symbols, BTF): collect that garbage
	// before timing, as a long run would have long since, and let
	// deferred kernel work finish.
	quiesce := func() {
		runtime.GC()
		time.Sleep(200 * time.Millisecond)
	}
	// half runs the work once, detached or attached, and says whether a
	// tracing program other than those Attach loaded was loaded before
	// or after.
	half := func(attach bool) (time.Duration, bool) {
		b.StopTimer()
		defer b.StartTimer()
		others := TracingPrograms() // nothing of ours is attached here
		ours := map[ebpf.ProgramID]bool{}
		detach := func() {}
		if attach {
			detach = a.Attach()
			for id := range TracingPrograms() {
				ours[id] = !others[id]
			}
		}
		quiesce()
		b.StartTimer()
		t := a.Run()
		b.StopTimer()
		foreign := len(others) > 0
		for id := range TracingPrograms() {
			foreign = foreign || !ours[id]
		}
		detach()
		// Each half starts quiet: detaching leaves deferred work (RCU,
		// trampoline teardown) that would otherwise land on the next.
		quiesce()
		return t, foreign
	}
	var detached, attached, slowdown []float64
	foreign := 0
	round := 0
	for b.Loop() {
		var d, at time.Duration
		var fd, fa bool
		if round%2 == 1 {
			at, fa = half(true)
		}
		d, fd = half(false)
		if round%2 == 0 {
			at, fa = half(true)
		}
		round++
		if fd || fa {
			foreign++
			continue
		}
		detached = append(detached, float64(d.Nanoseconds())/a.Ops)
		attached = append(attached, float64(at.Nanoseconds())/a.Ops)
		slowdown = append(slowdown, 100*(float64(at)/float64(d)-1))
	}
	b.StopTimer()
	b.ReportMetric(float64(foreign), "foreign-rounds")
	if len(slowdown) == 0 {
		// Not an error: that would end the other runs of -count too.
		b.Logf("every round of %d had another tracing program loaded: no figure", b.N)
		return false
	}
	b.ReportMetric(Median(detached), "detached-ns/"+a.Unit)
	b.ReportMetric(Median(attached), "attached-ns/"+a.Unit)
	b.ReportMetric(Median(slowdown), cmp.Or(a.Percent, "slowdown-%"))
	return true
}

// TracingPrograms lists the programs loaded on the machine that can run
// on syscalls or kernel functions.
func TracingPrograms() map[ebpf.ProgramID]bool {
	ids := map[ebpf.ProgramID]bool{}
	for id := range ProgramIDs() {
		prog, err := ebpf.NewProgramFromID(id)
		if err != nil {
			continue // unloaded meanwhile
		}
		switch prog.Type() {
		case ebpf.TracePoint, ebpf.RawTracepoint, ebpf.RawTracepointWritable, ebpf.Kprobe, ebpf.Tracing, ebpf.PerfEvent:
			ids[id] = true
		}
		prog.Close()
	}
	return ids
}

// ProgramIDs lists the BPF programs loaded on the machine.
func ProgramIDs() map[ebpf.ProgramID]bool {
	ids := map[ebpf.ProgramID]bool{}
	for id := ebpf.ProgramID(0); ; {
		next, err := ebpf.ProgramGetNextID(id)
		if err != nil {
			return ids
		}
		ids[next], id = true, next
	}
}
