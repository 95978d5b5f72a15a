//go:build linux

package probe_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

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
		{"tracepoint", probe.Tracepoint, true, inode},
		{"fentry-other-netns", probe.Fentry, true, inode + 1},
		{"kprobe-other-netns", probe.Kprobe, true, inode + 1},
		{"tracepoint-other-netns", probe.Tracepoint, true, inode + 1},
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
// scripts/bench-trace.sh runs it COUNT times and prints the median.
func BenchmarkOverhead(b *testing.B) {
	testenv.Root(b)
	cs, inode := testNetNSClients(b, 2)
	addLinks(b, cs[1], "d", 300)
	// A quarter of a second natively (a 300-link dump takes about 1.2 ms
	// on the development machine), 5 s under emulation.
	const dumps = 200
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
		{"tracepoint", probe.Tracepoint, inode, true},
		{"fentry-no-reader", probe.Fentry, inode, false},
		{"kprobe-no-reader", probe.Kprobe, inode, false},
		{"tracepoint-no-reader", probe.Tracepoint, inode, false},
		{"fentry-other-netns", probe.Fentry, inode + 1, true},
		{"kprobe-other-netns", probe.Kprobe, inode + 1, true},
		{"tracepoint-other-netns", probe.Tracepoint, inode + 1, true},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			abba{
				cfg:    probe.Config{Backend: bc.backend, NetNS: bc.netns},
				reader: bc.reader,
				ops:    dumps,
				unit:   "dump",
				run:    run,
			}.bench(b)
		})
	}
}

// BenchmarkBystander measures what the tracepoint backend costs processes
// that have nothing to do with netlink: its programs run at the entry and
// exit of every sendmsg, sendto, recvmsg, recvfrom and read on the
// machine, and leave once the descriptor is not an rtnetlink socket. A
// separate process (this test binary run again, see bystander) does one
// kind of syscall in a loop and times itself, with the probe detached and
// attached in ABBA rounds, as a traced churn run has it (its namespace
// filter set, its ring buffer read):
//
//	udp      sendmsg then recvmsg of a 64-byte datagram on 127.0.0.1
//	read     a 64-byte read of /dev/zero
//	getppid  a syscall no program is attached to: the price of syscall
//	         tracepoints being on at all (every task takes the slow path
//	         in and out of the kernel)
//
// Each kind runs again with programs that return at once attached to the
// same tracepoints instead of the probe (KIND-empty-programs): what any
// design on syscall tracepoints costs, whatever its programs do. The
// fentry and kprobe backends hook netlink functions only: such a process
// never runs their programs.
func BenchmarkBystander(b *testing.B) {
	testenv.Root(b)
	_, inode := newNetNS(b)
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		kind string
		n    int // operations per half round, 0.3-0.5 s natively
	}{
		{"udp", 100_000},
		{"read", 1_000_000},
		{"getppid", 2_000_000},
	}
	for _, bc := range cases {
		for _, empty := range []bool{false, true} {
			name := bc.kind
			if empty {
				name += "-empty-programs"
			}
			b.Run(name, func(b *testing.B) {
				bystanderBench(b, exe, bc.kind, bc.n, empty, inode)
			})
		}
	}
}

// bystanderBench is one case of BenchmarkBystander: with empty, programs
// that do nothing are attached to the same tracepoints instead of the
// probe, the floor any design on syscall tracepoints pays.
func bystanderBench(b *testing.B, exe, kind string, n int, empty bool, inode uint64) {
	run := func() time.Duration {
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", bystanderEnv, kind, n))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("bystander %s: %v", kind, err)
		}
		ns, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		if err != nil {
			b.Fatalf("bystander %s printed %q: %v", kind, out, err)
		}
		return time.Duration(ns)
	}
	abba{
		cfg:    probe.Config{Backend: probe.Tracepoint, NetNS: inode},
		reader: true,
		empty:  empty,
		ops:    float64(n),
		unit:   "op",
		run:    run,
	}.bench(b)
}

// emptyPrograms attaches a program that returns at once to the syscall
// tracepoints the tracepoint backend uses, and returns what detaches it.
func emptyPrograms(b *testing.B) func() {
	if _, err := os.Stat("/sys/kernel/tracing/events"); err != nil {
		if err := unix.Mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, ""); err != nil {
			b.Fatalf("mount tracefs: %v", err)
		}
		b.Cleanup(func() { unix.Unmount("/sys/kernel/tracing", 0) })
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:         ebpf.TracePoint,
		License:      "Dual BSD/GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
	})
	if err != nil {
		b.Fatal(err)
	}
	links := []link.Link{}
	for _, call := range []string{"sendmsg", "sendto", "recvmsg", "recvfrom", "read"} {
		for _, ev := range []string{"sys_enter_", "sys_exit_"} {
			l, err := link.Tracepoint("syscalls", ev+call, prog, nil)
			if err != nil {
				b.Fatal(err)
			}
			links = append(links, l)
		}
	}
	return func() {
		for _, l := range links {
			l.Close()
		}
		prog.Close()
	}
}

// abba is one overhead measurement: run, which makes ops operations of
// unit and returns the time they took, alternately with the probe
// detached and attached.
type abba struct {
	cfg    probe.Config
	reader bool // read the ring buffer, as a real run does
	empty  bool // attach emptyPrograms instead of the probe
	ops    float64
	unit   string
	run    func() time.Duration
}

// bench makes the ABBA rounds (testenv.ABBA), the probe attached with
// a's configuration in each attached half. Then, with kernel BPF
// statistics on (they cost time: never during the rounds), one attached
// run gives the time spent inside the programs and how often they ran,
// per operation and, in the log, per program.
func (a abba) bench(b *testing.B) {
	var drops uint64
	open := func() (*probe.Probe, func()) {
		if a.empty {
			return nil, emptyPrograms(b)
		}
		p := openProbe(b, a.cfg)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		if a.reader {
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
	kept := testenv.ABBA{Ops: a.ops, Unit: a.unit, Run: a.run, Attach: func() func() {
		_, stop := open()
		return stop
	}}.Bench(b)
	b.ReportMetric(float64(drops), "drops")
	if !kept || a.empty {
		return
	}
	stats, err := ebpf.EnableStats(0) // BPF_STATS_RUN_TIME
	if err != nil {
		b.Logf("no BPF statistics: %v", err)
		return
	}
	defer stats.Close()
	before := testenv.ProgramIDs()
	p, stop := open()
	defer stop()
	a.run()
	rt, runs, err := p.RunTime()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(rt.Nanoseconds())/a.ops, "prog-ns/"+a.unit)
	b.ReportMetric(float64(runs)/a.ops, "prog-runs/"+a.unit)
	logPrograms(b, before, a.ops, a.unit)
}

// logPrograms logs the run time and run count of each program loaded
// since before was taken (the probe's, unless someone else loaded
// programs meanwhile), per operation of the run just made.
func logPrograms(b *testing.B, before map[ebpf.ProgramID]bool, ops float64, unit string) {
	var lines []string
	for id := range testenv.ProgramIDs() {
		if before[id] {
			continue
		}
		prog, err := ebpf.NewProgramFromID(id)
		if err != nil {
			continue
		}
		info, ierr := prog.Info()
		s, serr := prog.Stats()
		prog.Close()
		if ierr != nil || serr != nil || s.RunCount == 0 {
			continue
		}
		lines = append(lines, fmt.Sprintf("%-16s %8.3f runs/%s %7.0f ns/run %8.1f ns/%s",
			info.Name, float64(s.RunCount)/ops, unit, float64(s.Runtime.Nanoseconds())/float64(s.RunCount),
			float64(s.Runtime.Nanoseconds())/ops, unit))
	}
	sort.Strings(lines)
	b.Logf("programs that ran during one attached run:\n%s", strings.Join(lines, "\n"))
}

// bystanderEnv, set to "KIND N", makes this test binary a bystander for
// BenchmarkBystander instead: it does N syscalls of KIND, prints the
// nanoseconds they took, and exits.
const bystanderEnv = "NLTRACE_BENCH_BYSTANDER"

func init() {
	if spec := os.Getenv(bystanderEnv); spec != "" {
		os.Exit(bystander(spec))
	}
}

func bystander(spec string) int {
	var kind string
	var n int
	if _, err := fmt.Sscan(spec, &kind, &n); err != nil {
		fmt.Fprintf(os.Stderr, "%s=%q: %v\n", bystanderEnv, spec, err)
		return 2
	}
	runtime.LockOSThread()
	debug.SetGCPercent(-1) // unix.Recvmsg allocates a little: no collection mid-run
	op, err := bystanderOp(kind)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	start := time.Now()
	for range n {
		if err := op(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	fmt.Println(time.Since(start).Nanoseconds())
	return 0
}

// bystanderOp returns one operation of kind: udp, read or getppid.
func bystanderOp(kind string) (func() error, error) {
	buf := make([]byte, 64)
	switch kind {
	case "udp":
		var fds [2]int
		for i := range fds {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return nil, err
			}
			if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
				return nil, err
			}
			fds[i] = fd
		}
		to, err := unix.Getsockname(fds[1])
		if err != nil {
			return nil, err
		}
		return func() error {
			if err := unix.Sendmsg(fds[0], buf, nil, to, 0); err != nil {
				return fmt.Errorf("sendmsg: %w", err)
			}
			if _, _, _, _, err := unix.Recvmsg(fds[1], buf, nil, 0); err != nil {
				return fmt.Errorf("recvmsg: %w", err)
			}
			return nil
		}, nil
	case "read":
		fd, err := unix.Open("/dev/zero", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
		return func() error {
			_, err := unix.Read(fd, buf)
			return err
		}, nil
	case "getppid":
		return func() error {
			unix.Getppid()
			return nil
		}, nil
	}
	return nil, fmt.Errorf("unknown bystander %q (want udp, read or getppid)", kind)
}
