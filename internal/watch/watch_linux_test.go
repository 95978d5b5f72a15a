package watch_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nltrace/nltrace/internal/netns"
	"github.com/nltrace/nltrace/internal/testenv"
	"github.com/nltrace/nltrace/internal/watch"
	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

// dumperEnv makes the test binary a dumper of its own (see TestMain): a
// process that nltrace did not start, which counts what it saw.
const dumperEnv = "NLTRACE_WATCH_TEST_DUMPER"

func TestMain(m *testing.M) {
	if os.Getenv(dumperEnv) != "" {
		os.Exit(dumpLinks())
	}
	os.Exit(m.Run())
}

// dumpLinks dumps links in its namespace until SIGTERM, then prints how
// many of its dumps were interrupted, as a client would report them.
func dumpLinks() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	c, err := nlclient.Dial(nlclient.Target{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()
	dumps, interrupted := 0, 0
	for ctx.Err() == nil {
		r, err := c.Dump(context.Background(), nlclient.Link, nlclient.Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		dumps++
		if r.Interrupted() {
			interrupted++
		}
	}
	fmt.Printf("dumps %d interrupted %d\n", dumps, interrupted)
	return 0
}

// churnLoop adds and deletes a veth pair, in iproute2's and busybox's
// syntax alike.
const churnLoop = "while :; do ip link add nlw0 type veth; ip link del nlw0; done"

// watchTime is how long the churn runs (the 20 s; 5 s with -short).
func watchTime() time.Duration {
	if testing.Short() {
		return 5 * time.Second
	}
	return 20 * time.Second
}

// TestWatchExplainsOtherProcesses is the live-host case: processes that
// nltrace did not start churn links with ip link add/del in two
// namespaces while others dump there (an ip link show loop, a dumper
// that counts its interrupted dumps, and the lab's vishvananda/netlink
// v1.2.1 client, which prints each EINTR), and nltrace dumps too. Every
// backend the kernel allows watches at once. Each must report every
// interrupted dump the clients saw, explain nearly all of them by the
// churning ip processes, and report none of nltrace's own.
func TestWatchExplainsOtherProcesses(t *testing.T) {
	testenv.Root(t)
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatalf("the churn needs ip (iproute2, or busybox's in the guests): %v", err)
	}
	nsA, nsB := linkedNetNS(t, 300), linkedNetNS(t, 100)
	watches := startWatches(t)

	churn := []*proc{
		startIn(t, nsA, nil, "sh", "-c", churnLoop),
		startIn(t, nsB, nil, "sh", "-c", churnLoop),
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	counter := startIn(t, nsA, []string{dumperEnv + "=1"}, self)
	ipShow := startIn(t, nsA, nil, "sh", "-c", "while :; do ip link show >/dev/null; done")
	var lab *proc
	if bin := labClient(t); bin != "" {
		lab = startIn(t, nsB, nil, bin, "-count", "1000000")
	}
	own := ownDumps(t, nsA)

	time.Sleep(watchTime())
	// The churn stops first: the dumps under way then end unflagged, and
	// what the clients printed is all there is to see.
	for _, p := range churn {
		p.stop(t, syscall.SIGKILL)
	}
	time.Sleep(time.Second)
	counter.stop(t, syscall.SIGTERM)
	ipShow.stop(t, syscall.SIGKILL)
	if lab != nil {
		lab.stop(t, syscall.SIGKILL)
	}
	ownDumped := own()
	var dumped, flagged int
	if _, err := fmt.Sscanf(counter.out.String(), "dumps %d interrupted %d", &dumped, &flagged); err != nil {
		t.Fatalf("the counting dumper printed %q: %v (stderr: %s)", counter.out.String(), err, counter.errs.String())
	}
	t.Logf("counting dumper: %d dumps, %d interrupted; nltrace's own: %d dumps", dumped, flagged, ownDumped)
	if flagged == 0 {
		t.Fatal("the churn interrupted none of the counting dumper's dumps: nothing to check")
	}
	// iproute2 says so of each interrupted dump; busybox's ip says nothing.
	ipSaid := -1
	if out, _ := exec.Command("ip", "-V").Output(); strings.Contains(string(out), "iproute2") {
		ipSaid = strings.Count(ipShow.errs.String(), "Dump was interrupted")
		t.Logf("ip link show loop: %d interrupted dumps reported", ipSaid)
	}
	inoA, inoB := inode(t, nsA), inode(t, nsB)
	eintr := 0
	if lab != nil {
		eintr = strings.Count(lab.errs.String(), "interrupted system call")
		t.Logf("vnl-v1.2.1: %d runs failed with EINTR", eintr)
	}

	summaries := map[probe.Backend]*watch.Summary{}
	mostIP := 0
	for _, w := range watches {
		summaries[w.backend] = w.finish(t)
		mostIP = max(mostIP, dumpsOf(summaries[w.backend], "ip"))
	}
	for _, w := range watches {
		t.Run(w.backend.String(), func(t *testing.T) {
			s := summaries[w.backend]
			// busybox's ip sends with write(2), which a syscall design
			// that hooked only sendmsg and sendto never saw.
			if n := dumpsOf(s, "ip"); n < mostIP*9/10 {
				t.Errorf("saw %d dumps of the ip link show loop, another backend %d", n, mostIP)
			}
			byPID := map[uint32]int{}
			explained, total, ipShown := 0, 0, 0
			for _, r := range w.records {
				if r.NetNS != inoA && r.NetNS != inoB {
					continue // other tests' dumps: go test runs packages in parallel
				}
				byPID[r.Dumper.PID]++
				if r.Dumper.Comm == "ip" && r.NetNS == inoA {
					ipShown++
				}
				total++
				if r.Explained {
					explained++
				}
				if r.Dumper.PID == uint32(os.Getpid()) {
					t.Errorf("reported nltrace's own dump: %v", r)
				}
				for _, in := range r.Interruptions {
					for _, wr := range in.Writers {
						if wr.Comm != "ip" {
							t.Errorf("%v: a writer not of the churn: %v", r, wr)
						}
					}
				}
			}
			if got := byPID[counter.pid()]; got != flagged {
				t.Errorf("reported %d interrupted dumps of the counting dumper, which saw %d", got, flagged)
			}
			if ipSaid >= 0 && ipShown != ipSaid {
				t.Errorf("reported %d interrupted dumps of ip link show, which said %d", ipShown, ipSaid)
			}
			if lab != nil && byPID[lab.pid()] != eintr {
				t.Errorf("reported %d interrupted dumps of vnl-v1.2.1, which printed %d EINTR", byPID[lab.pid()], eintr)
			}
			floor := 0.99
			if w.hooks == probe.SyscallHooks {
				floor = 0.93 // 6.1: requests, not notifications (see probe)
			}
			share := float64(explained) / float64(total)
			t.Logf("%s: %d interrupted dumps reported, %.1f%% explained; %d dumps in all, drops %d", w.backend, total, 100*share, s.Dumps, s.Drops)
			if share < floor {
				t.Errorf("explained %d of %d interrupted dumps (%.1f%%), want at least %.0f%%", explained, total, 100*share, 100*floor)
			}
			if s.Drops != 0 || s.DroppedSamples != 0 || s.DroppedWriters != 0 {
				t.Errorf("lost events: %d drops, %d samples and %d writers dropped", s.Drops, s.DroppedSamples, s.DroppedWriters)
			}
		})
	}
}

// dumpsOf is how many dumps the summary counts for processes named comm.
func dumpsOf(s *watch.Summary, comm string) int {
	for _, d := range s.Dumpers {
		if d.Comm == comm {
			return d.Dumps
		}
	}
	return 0
}

// running is one watch.Run going on.
type running struct {
	backend probe.Backend
	hooks   string
	cancel  context.CancelFunc
	done    chan error
	summary *watch.Summary
	mu      sync.Mutex
	records []*watch.Interrupted
}

// startWatches starts a watch on each backend this kernel allows, and
// waits for each to attach.
func startWatches(t *testing.T) []*running {
	var out []*running
	for _, b := range []probe.Backend{probe.Fentry, probe.Kprobe, probe.Tracepoint} {
		w := &running{backend: b, done: make(chan error, 1)}
		ctx, cancel := context.WithCancel(context.Background())
		w.cancel = cancel
		started := make(chan *watch.Start, 1)
		cfg := watch.Config{Backend: b, Kinds: nil,
			OnStart: func(s *watch.Start) { started <- s },
			OnRecord: func(r any) {
				if in, ok := r.(*watch.Interrupted); ok {
					w.mu.Lock()
					w.records = append(w.records, in)
					w.mu.Unlock()
				}
			}}
		go func() {
			s, err := watch.Run(ctx, cfg)
			w.summary = s
			w.done <- err
		}()
		select {
		case s := <-started:
			w.hooks = s.Hooks
			out = append(out, w)
			t.Cleanup(func() { cancel(); <-w.done })
		case err := <-w.done:
			cancel()
			if !errors.Is(err, probe.ErrUnavailable) {
				t.Fatalf("watch with %v: %v", b, err)
			}
			testenv.Need(&softTB{t}, b.String(), err)
		}
	}
	if len(out) == 0 {
		t.Skip("no backend attaches here")
	}
	return out
}

// softTB turns a required backend's absence into a failure of the test
// without stopping it, and its skip into a log line: the other backends
// still run.
type softTB struct{ *testing.T }

func (s *softTB) Skip(args ...any)                 { s.Log(append([]any{"skipped:"}, args...)...) }
func (s *softTB) Skipf(format string, args ...any) { s.Logf("skipped: "+format, args...) }
func (s *softTB) Fatal(args ...any)                { s.Error(args...) }
func (s *softTB) Fatalf(format string, args ...any) {
	s.Errorf(format, args...)
}

// finish waits for the last dumps to be joined, stops the watch and
// returns its summary.
func (w *running) finish(t *testing.T) *watch.Summary {
	time.Sleep(time.Second)
	w.cancel()
	if err := <-w.done; err != nil {
		t.Fatal(err)
	}
	w.done <- nil // for the cleanup
	return w.summary
}

// proc is a process started by the test in a namespace, in a process
// group of its own.
type proc struct {
	cmd       *exec.Cmd
	out, errs strings.Builder
	waited    bool
}

func (p *proc) pid() uint32 { return uint32(p.cmd.Process.Pid) }

// startIn starts a command in the namespace at path, with env added to
// the test's; it is killed at the end of the test if still running.
func startIn(t *testing.T, path string, env []string, name string, args ...string) *proc {
	p := &proc{cmd: exec.Command(name, args...)}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.errs
	p.cmd.Env = append(os.Environ(), env...)
	t.Cleanup(func() { p.stop(t, syscall.SIGKILL) })
	if err := netns.Do(path, p.cmd.Start); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	return p
}

func (p *proc) stop(t *testing.T, sig syscall.Signal) {
	if p.waited {
		return
	}
	p.waited = true
	syscall.Kill(-p.cmd.Process.Pid, sig)
	p.cmd.Wait()
}

// linkedNetNS makes a namespace with n veth devices, removed at the end
// of the test, and returns its path.
func linkedNetNS(t *testing.T, n int) string {
	path := testenv.NetNS(t)
	c, err := nlclient.Dial(nlclient.Target{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < n; i += 2 {
		if err := c.AddLink(fmt.Sprintf("s%d", i), "veth", fmt.Sprintf("s%d", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func inode(t *testing.T, path string) uint64 {
	f, err := netns.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ino, err := netns.Inode(f)
	if err != nil {
		t.Fatal(err)
	}
	return ino
}

// ownDumps dumps links in the namespace at path from this process, as
// nltrace itself does, until the returned function is called; it returns
// how many dumps were made.
func ownDumps(t *testing.T, path string) func() int {
	c, err := nlclient.Dial(nlclient.Target{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := make(chan int, 1)
	go func() {
		dumps := 0
		for ctx.Err() == nil {
			if _, err := c.Dump(ctx, nlclient.Link, nlclient.Options{}); err == nil {
				dumps++
			}
			time.Sleep(10 * time.Millisecond)
		}
		c.Close()
		n <- dumps
	}()
	return func() int { cancel(); return <-n }
}

// labClient returns the lab's vnl-v1.2.1 client (NLTRACE_LAB_BIN, or
// built from testdata/clients), or "" where it cannot be had; the lab
// capability of NLTRACE_REQUIRE makes that a failure.
func labClient(t *testing.T) string {
	if dir := os.Getenv("NLTRACE_LAB_BIN"); dir != "" {
		return filepath.Join(dir, "vnl-v1.2.1")
	}
	dir := t.TempDir()
	src, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "clients", "vnl-v1.2.1"))
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "vnl-v1.2.1"), ".")
	cmd.Dir, cmd.Env = src, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		testenv.Need(&softTB{t}, "lab", fmt.Errorf("build the lab's vnl-v1.2.1 client: %w\n%s", err, out))
		return ""
	}
	return filepath.Join(dir, "vnl-v1.2.1")
}
