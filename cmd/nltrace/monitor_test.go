package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/monitor"
	"github.com/nltrace/nltrace/internal/testenv"
	"github.com/nltrace/nltrace/nlclient"
)

// monitorRun is `nltrace monitor` running as a process.
type monitorRun struct {
	cmd    *exec.Cmd
	r      *os.File // the read end of its stdout
	out    *bufio.Reader
	mu     sync.Mutex
	stderr bytes.Buffer
	ready  chan struct{}
	// errDone is closed when the stderr reader has read everything: Wait
	// closes the pipe, and what it holds then is lost.
	errDone chan struct{}
}

// startMonitor starts nltrace monitor and waits until it has subscribed
// (its first line on stderr). Its stdout is a pipe: r and w, or a new one.
func startMonitor(t *testing.T, r, w *os.File, args ...string) *monitorRun {
	t.Helper()
	m := &monitorRun{cmd: nltrace(t, append([]string{"monitor"}, args...)...), ready: make(chan struct{}), errDone: make(chan struct{})}
	if w == nil {
		var err error
		if r, w, err = os.Pipe(); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { r.Close() })
	m.cmd.Stdout, m.r, m.out = w, r, bufio.NewReader(r)
	errPipe, err := m.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { m.cmd.Process.Kill(); m.cmd.Wait() })
	go func() {
		defer close(m.errDone)
		s := bufio.NewScanner(errPipe)
		once := sync.Once{}
		for s.Scan() {
			m.mu.Lock()
			m.stderr.WriteString(s.Text() + "\n")
			m.mu.Unlock()
			if strings.Contains(s.Text(), "watching") {
				once.Do(func() { close(m.ready) })
			}
		}
	}()
	select {
	case <-m.ready:
	case <-time.After(20 * time.Second):
		t.Fatalf("nltrace monitor did not start in 20 s: %s", m.errText())
	}
	return m
}

func (m *monitorRun) errText() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stderr.String()
}

// until reads lines until one matches re, and returns them all.
func (m *monitorRun) until(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	type result struct {
		lines []string
		err   error
	}
	done := make(chan result, 1)
	var mu sync.Mutex
	var lines []string
	go func() {
		for {
			l, err := m.out.ReadString('\n')
			mu.Lock()
			l = strings.TrimSuffix(l, "\n")
			if err == nil {
				lines = append(lines, l)
			}
			got := slices.Clone(lines)
			mu.Unlock()
			if err != nil || re.MatchString(l) {
				done <- result{got, err}
				return
			}
		}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("no line matching %s before %v; lines:\n%s\nstderr: %s", re, r.err, strings.Join(r.lines, "\n"), m.errText())
		}
		return r.lines
	case <-time.After(20 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("no line matching %s in 20 s; lines:\n%s\nstderr: %s", re, strings.Join(lines, "\n"), m.errText())
		return nil
	}
}

// interrupt sends SIGINT and checks the exit: status 130 and a summary.
func (m *monitorRun) interrupt(t *testing.T) string {
	t.Helper()
	m.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-m.errDone:
	case <-time.After(20 * time.Second):
		t.Errorf("nltrace monitor still running 20 s after SIGINT")
	}
	err := m.cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitSignal {
		t.Errorf("exit %v after SIGINT, want status %d", err, exitSignal)
	}
	stderr := m.errText()
	if !strings.Contains(stderr, "nltrace monitor: ") || !strings.Contains(stderr, " events") {
		t.Errorf("no summary on stderr:\n%s", stderr)
	}
	return stderr
}

func dialNS(t *testing.T, path string) *nlclient.Client {
	t.Helper()
	c, err := nlclient.Dial(nlclient.Target{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestMonitorSeedLines checks the seed's three messages, in the monitor's
// format: a new interface with its state, a new address, a changed routing
// table; each line with its time, and the writer where the kernel names it.
func TestMonitorSeedLines(t *testing.T) {
	path := testenv.NetNS(t)
	m := startMonitor(t, nil, nil, "--netns", path, "--kind", "link,addr4,route4")
	c := dialNS(t, path)
	ok(t, c.AddLink("sv0", "veth", "sv1"))
	sv0, sv1 := linkIndex(t, c, "sv0"), linkIndex(t, c, "sv1")
	ok(t, c.SetLinkUp(sv1, true))
	ok(t, c.SetLinkUp(sv0, true))
	ok(t, c.AddAddr(sv0, netip.MustParsePrefix("10.6.0.1/24")))
	// The carrier (RUNNING) comes up from a kernel worker, maybe after the
	// route.
	lines := m.until(t, regexp.MustCompile(`route4 new 10\.6\.0\.0/24 `))
	if running := regexp.MustCompile(`link changed sv0 .*state UP RUNNING`); !slicesContainsMatch(lines, running) {
		lines = append(lines, m.until(t, running)...)
	}
	m.interrupt(t)
	writer := `\S+\[` + fmt.Sprint(os.Getpid()) + `\]`
	if err := monitor.CheckWriters(); err != nil {
		t.Logf("writers are not named here: %v", err)
		writer = `port \d+ \(.*\)`
	}
	stamp := `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d) `
	for _, want := range []string{
		`link new sv0 index \d+ state DOWN`,
		`link changed sv0 index \d+ state UP RUNNING LOWER_UP`,
		`addr4 new 10\.6\.0\.1/24 dev sv0 scope global .*by ` + writer + `$`,
		`route4 new 10\.6\.0\.0/24 dev sv0 table main proto kernel`,
	} {
		re := regexp.MustCompile("^" + stamp + want)
		if !slicesContainsMatch(lines, re) {
			t.Errorf("no line matching %s in:\n%s", re, strings.Join(lines, "\n"))
		}
	}
}

func slicesContainsMatch(lines []string, re *regexp.Regexp) bool {
	for _, l := range lines {
		if re.MatchString(l) {
			return true
		}
	}
	return false
}

func linkIndex(t *testing.T, c *nlclient.Client, name string) int32 {
	t.Helper()
	i, err := c.LinkIndex(name)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// TestMonitorJSONLines checks --json-lines: one object per event, with the
// documented field names.
func TestMonitorJSONLines(t *testing.T) {
	path := testenv.NetNS(t)
	m := startMonitor(t, nil, nil, "--netns", path, "--json-lines")
	c := dialNS(t, path)
	ok(t, c.SetLinkUp(1, true))
	ok(t, c.AddNexthop(9))
	lines := m.until(t, regexp.MustCompile(`"kind":"nexthop"`))
	m.interrupt(t)
	kinds := map[string]bool{}
	for _, l := range lines {
		var e map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		for _, f := range []string{"time", "mono_ns", "kind", "action", "nsid"} {
			if _, ok := e[f]; !ok {
				t.Errorf("line %q has no %q", l, f)
			}
		}
		kinds[fmt.Sprint(e["kind"])] = true
		named := e["pid"] == float64(os.Getpid()) || monitor.CheckWriters() != nil && e["port_id"] != nil
		if e["kind"] == "nexthop" && (e["id"] != 9.0 || e["action"] != "new" || !named) {
			t.Errorf("nexthop line %q: want id 9, new, by this process", l)
		}
	}
	for _, k := range []string{"link", "addr4", "addr6", "route4", "route6", "nexthop"} {
		if !kinds[k] {
			t.Errorf("no %s event in:\n%s", k, strings.Join(lines, "\n"))
		}
	}
}

// TestMonitorOverrunIsReported stalls the monitor's output (a pipe of one
// page nobody reads) over a burst, with a tiny --rcvbuf: the overrun is a
// line with its count, the table is dumped again, the monitor goes on, and
// the summary counts it.
func TestMonitorOverrunIsReported(t *testing.T) {
	path := testenv.NetNS(t)
	c := dialNS(t, path)
	ok(t, c.AddLink("ov0", "veth", "ov1"))
	ov0 := linkIndex(t, c, "ov0")
	for i := range 300 {
		ok(t, c.AddAddr(ov0, netip.MustParsePrefix(fmt.Sprintf("10.21.%d.%d/32", i/250, i%250+1))))
	}
	r, w, err := os.Pipe()
	ok(t, err)
	if _, err := unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, os.Getpagesize()); err != nil {
		t.Fatal(err)
	}
	m := startMonitor(t, r, w, "--netns", path, "--kind", "addr4", "--rcvbuf", "1")
	// Enough lines to fill the pipe: the monitor stalls writing.
	ov1 := linkIndex(t, c, "ov1")
	for i := range 100 {
		ok(t, c.AddAddr(ov1, netip.MustParsePrefix(fmt.Sprintf("10.22.0.%d/32", i+1))))
	}
	time.Sleep(200 * time.Millisecond)
	ok(t, c.DeleteLink(ov0))
	lines := m.until(t, regexp.MustCompile(` resync addr4 0 objects$`))
	ok(t, c.SetLinkUp(1, true))
	// With --rcvbuf 1 the new address may be lost to another overrun,
	// and then comes back in the resync that follows it.
	m.until(t, regexp.MustCompile(` addr4 new 127\.0\.0\.1/8 dev lo | resync addr4 [1-9]\d* objects$`))
	stderr := m.interrupt(t)
	overrun := regexp.MustCompile(` overrun: \d+ events lost, resyncing$`)
	summary := regexp.MustCompile(`[1-9]\d* overruns, \d+ events lost, [1-9]\d* tables dumped again`)
	if err := monitor.CheckWriters(); err != nil {
		t.Logf("the drop counter cannot be read here: %v", err)
		overrun = regexp.MustCompile(` overrun: events lost \(the count is unavailable\), resyncing$`)
		summary = regexp.MustCompile(`[1-9]\d* overruns, an unknown number of events lost, [1-9]\d* tables dumped again`)
	}
	if !slicesContainsMatch(lines, overrun) {
		t.Errorf("no overrun line in:\n%s", strings.Join(lines, "\n"))
	}
	if !summary.MatchString(stderr) {
		t.Errorf("summary does not count the overrun:\n%s", stderr)
	}
	t.Logf("summary: %s", strings.TrimSpace(stderr[strings.LastIndex(strings.TrimSpace(stderr), "\n")+1:]))
}

// TestMonitorClosedOutputEnds checks that a reader that goes away (`| head
// -1`) ends the monitor.
func TestMonitorClosedOutputEnds(t *testing.T) {
	path := testenv.NetNS(t)
	m := startMonitor(t, nil, nil, "--netns", path)
	c := dialNS(t, path)
	ok(t, c.SetLinkUp(1, true))
	m.until(t, regexp.MustCompile(` link `))
	m.r.Close()
	for i := range 20 {
		c.AddAddr(1, netip.MustParsePrefix(fmt.Sprintf("127.3.0.%d/32", i+1)))
	}
	done := make(chan error, 1)
	go func() { done <- m.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("still running 20 s after its output was closed")
	}
}
