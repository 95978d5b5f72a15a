package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nltrace/nltrace/internal/testenv"
	"github.com/nltrace/nltrace/probe"
)

// TestMetricsScrapedByPrometheus runs `nltrace watch --metrics` under a
// real Prometheus (Debian's package) that scrapes it every second, while
// processes nltrace did not start (ip) interrupt each other's link dumps
// in a namespace of the test. It then asks Prometheus, through its HTTP
// API, what a user of the metrics would: the interrupted dumps by kind
// and process name, who interrupted them, the backend, and the topk of
// culprits the README's query makes; and checks the scraped count
// against the "interrupted" records nltrace printed.
func TestMetricsScrapedByPrometheus(t *testing.T) {
	testenv.Root(t)
	promBin, err := exec.LookPath("prometheus")
	testenv.Need(t, "prometheus", err)
	testenv.Need(t, "iproute2", iproute2())
	needWatchBackend(t)

	ns := filepath.Base(testenv.NetNS(t))
	ipBatch(t, ns, vethPairs(300))
	// --netns keeps the dumps of other tests (go test runs packages in
	// parallel, several of them with ip) out of the figures compared.
	w := startWatch(t, "--netns", ns)
	prom := startPrometheus(t, promBin, w.start.Metrics)
	// Prometheus applies its scrape targets some 5 s after it starts:
	// the load begins once nltrace is scraped, so that rate() sees it.
	prom.eventually(t, 20*time.Second, "Prometheus scrapes nltrace", func() error {
		return prom.want(`up{job="nltrace"}`, func(v float64) bool { return v == 1 }, "1")
	})

	stopLoad := startLoad(t, ns)
	time.Sleep(6 * time.Second)
	stopLoad()
	stopped := time.Now()

	const interrupted = `nltrace_interrupted_dumps_total{kind="link",comm="ip"}`
	positive := func(v float64) bool { return v > 0 }
	prom.eventually(t, 30*time.Second, "the interrupted dumps and their culprits", func() error {
		return errors.Join(
			prom.want(interrupted, positive, "> 0"),
			prom.want(`sum(nltrace_interruptions_total{dumper_comm="ip",culprit_comm="ip"})`, positive, "> 0"),
			prom.wantBackend(w.start.Backend),
			prom.wantTopCulprit(`topk(5, sum by (culprit_comm) (rate(nltrace_interruptions_total{dumper_comm="ip"}[1m])))`, "ip"),
		)
	})

	// The load is over: a scrape made after the last record nltrace
	// printed counts exactly the records printed. A dump cut short by
	// the kill may still be given up on later, hence "after the last".
	var final float64
	prom.eventually(t, 30*time.Second, "the scraped count of interrupted link dumps by ip equals nltrace's records", func() error {
		n, last := w.interrupted("ip", "link")
		v, at, err := prom.sample(interrupted)
		switch {
		case err != nil:
			return err
		case !at.After(last) || !at.After(stopped):
			return fmt.Errorf("%s: last scrape at %v, not after the last record (%v) and the load (%v)", interrupted, at, last, stopped)
		case v != float64(n):
			return fmt.Errorf("%s = %v, nltrace printed %d such records", interrupted, v, n)
		}
		final = v
		return nil
	})
	if err := prom.want(`nltrace_dumps_total{kind="link",comm="ip"}`, func(v float64) bool { return v >= final }, fmt.Sprintf(">= %v (the interrupted ones)", final)); err != nil {
		t.Error(err)
	}
	t.Logf("%v interrupted link dumps by ip, scraped and printed", final)

	w.interrupt(t)
}

// needWatchBackend skips (or fails, where NLTRACE_REQUIRE says so) unless
// a tracing backend attaches here. needTracing(Auto) fails only for the
// fentry and kprobe requirements: the tracepoint one is checked first.
func needWatchBackend(t *testing.T) {
	t.Helper()
	if testenv.Required(probe.Tracepoint.String()) {
		needTracing(t, probe.Tracepoint)
	}
	needTracing(t, probe.Auto)
}

// vethPairs are the ip -batch commands that add n veth pairs: 2n links,
// so that a link dump takes several chunks and a change can land between
// two of them.
func vethPairs(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "link add mt-a%d type veth peer name mt-b%d\n", i, i)
	}
	return b.String()
}

// ipBatch runs `ip -n ns -batch -` on the commands.
func ipBatch(t *testing.T, ns, commands string) {
	t.Helper()
	cmd := exec.Command("ip", "-n", ns, "-batch", "-")
	cmd.Stdin = strings.NewReader(commands)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s -batch: %v\n%s", ns, err, out)
	}
}

// startLoad starts, in namespace ns, a churn (one veth pair added and
// deleted in a loop, by one ip -batch) and a loop of `ip link show`
// dumps, each in its own process group; the returned function kills both
// groups and waits for them (also run when the test ends).
func startLoad(t *testing.T, ns string) func() {
	t.Helper()
	churn := startGroup(t, `while :; do
		echo "link add mt-churn type veth peer name mt-churn-peer"
		echo "link del mt-churn"
	done | ip -n "$1" -force -batch -`, ns)
	dumps := startGroup(t, `while :; do ip -n "$1" link show; done`, ns)
	var once sync.Once
	stop := func() { once.Do(func() { churn(); dumps() }) }
	t.Cleanup(stop)
	return stop
}

// startGroup starts a shell script (with $1 = arg) in a process group of
// its own, and returns what kills the group and waits for the shell.
func startGroup(t *testing.T, script, arg string) func() {
	t.Helper()
	cmd := exec.Command("sh", "-c", script, "sh", arg)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}
}

// watchLine is the fields the test reads of nltrace watch's JSON records:
// "start", "interrupted" and "summary".
type watchLine struct {
	Type    string `json:"type"`
	Backend string `json:"backend"` // start
	Metrics string `json:"metrics"` // start: the address served
	Dumper  struct {
		Comm string `json:"comm"`
	} `json:"dumper"` // interrupted
	Kind        string   `json:"kind"`        // interrupted
	Interrupted int      `json:"interrupted"` // summary
	Errors      []string `json:"errors"`      // summary
}

// watchRun is `nltrace watch --json-lines --metrics` running as a process.
type watchRun struct {
	cmd    *exec.Cmd
	start  watchLine
	stderr syncBuffer
	done   chan struct{} // closed once stdout ended and the process was waited for
	err    error         // its exit, once done

	mu      sync.Mutex
	records []watchLine // every record after start
	last    time.Time   // when the last one was read
}

// startWatch starts nltrace watch with a metrics server on a free
// loopback port, and reads the start record for its address. The process
// is killed and waited for when the test ends, if still running.
func startWatch(t *testing.T, args ...string) *watchRun {
	t.Helper()
	w := &watchRun{done: make(chan struct{})}
	w.cmd = nltrace(t, append([]string{"watch", "--json-lines", "--metrics", "127.0.0.1:0", "--duration", "90s"}, args...)...)
	w.cmd.Stderr = &w.stderr
	stdout, err := w.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.cmd.Process.Kill()
		<-w.done
	})
	started := make(chan watchLine, 1)
	go w.read(stdout, started)
	select {
	case w.start = <-started:
	case <-w.done:
		t.Fatalf("nltrace watch ended before its start record: %v\n%s", w.err, w.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("no start record from nltrace watch in 30 s:\n%s", w.stderr.String())
	}
	if w.start.Type != "start" || w.start.Metrics == "" || w.start.Backend == "" {
		t.Fatalf("first record %+v, want a start with the metrics address and backend", w.start)
	}
	t.Logf("nltrace watch: backend %s, metrics on %s", w.start.Backend, w.start.Metrics)
	return w
}

// read decodes stdout's records until it ends, then waits for the process.
func (w *watchRun) read(stdout io.Reader, started chan<- watchLine) {
	defer close(w.done)
	lines := bufio.NewScanner(stdout)
	lines.Buffer(nil, 1<<20)
	for first := true; lines.Scan(); first = false {
		var l watchLine
		if err := json.Unmarshal(lines.Bytes(), &l); err != nil {
			l.Type = "not JSON: " + lines.Text()
		}
		if first {
			started <- l
			continue
		}
		w.mu.Lock()
		w.records = append(w.records, l)
		w.last = time.Now()
		w.mu.Unlock()
	}
	w.err = w.cmd.Wait()
}

// interrupted counts the interrupted records of a dumper's comm and kind
// read so far, and says when the last record (of any kind) was read.
func (w *watchRun) interrupted(comm, kind string) (int, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, r := range w.records {
		if r.Type == "interrupted" && r.Dumper.Comm == comm && r.Kind == kind {
			n++
		}
	}
	return n, w.last
}

// interrupt ends the watch with SIGINT, as a user would, and checks that
// it ends with status 130 and a summary without errors (the metrics
// server's included).
func (w *watchRun) interrupt(t *testing.T) {
	t.Helper()
	w.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-w.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("nltrace watch still running 20 s after SIGINT:\n%s", w.stderr.String())
	}
	if exitStatus(w.err) != exitSignal {
		t.Errorf("nltrace watch: %v after SIGINT, want exit status %d\n%s", w.err, exitSignal, w.stderr.String())
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.records) == 0 || w.records[len(w.records)-1].Type != "summary" {
		t.Fatalf("no summary record last:\n%s", w.stderr.String())
	}
	if s := w.records[len(w.records)-1]; len(s.Errors) > 0 {
		t.Errorf("summary errors: %q", s.Errors)
	}
}

// promServer is a Prometheus of the test's own: its configuration and
// storage in a temporary directory, its API on a free loopback port.
type promServer struct {
	api    string // http://host:port
	stderr syncBuffer
}

// startPrometheus starts Prometheus scraping target every second, and
// waits until it is ready. It is killed and waited for when the test
// ends. The free port is chosen by listening on port 0, which another
// process may take before Prometheus binds it: then it tries again.
func startPrometheus(t *testing.T, bin, target string) *promServer {
	t.Helper()
	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	yml := fmt.Sprintf("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: nltrace\n    static_configs:\n      - targets: [%q]\n", target)
	if err := os.WriteFile(config, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	for try := 1; ; try++ {
		p := &promServer{}
		addr := freeLoopbackAddr(t)
		p.api = "http://" + addr
		cmd := exec.Command(bin, "--config.file="+config, "--storage.tsdb.path="+filepath.Join(dir, "data"),
			"--web.listen-address="+addr)
		cmd.Stdout, cmd.Stderr = &p.stderr, &p.stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		var exit error
		go func() { exit = cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			cmd.Process.Kill()
			<-exited
		})
		err := p.waitReady(exited, &exit)
		if err == nil {
			return p
		}
		if try == 3 || !strings.Contains(p.stderr.String(), "address already in use") {
			t.Fatalf("prometheus on %s: %v\n%s", addr, err, p.stderr.String())
		}
	}
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitReady polls /-/ready until Prometheus answers 200, exits, or 20 s
// pass.
func (p *promServer) waitReady(exited <-chan struct{}, exit *error) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-exited:
			return fmt.Errorf("exited before ready: %v", *exit)
		case <-time.After(100 * time.Millisecond):
		}
		if resp, err := http.Get(p.api + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return errors.New("not ready in 20 s")
		}
	}
}

// promSample is one series of an instant query's result.
type promSample struct {
	Labels map[string]string
	Value  float64
	Time   time.Time // the evaluation time, not the scrape's
}

// query runs an instant query through the HTTP API.
func (p *promServer) query(expr string) ([]promSample, error) {
	resp, err := http.Get(p.api + "/api/v1/query?" + url.Values{"query": {expr}}.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"` // [unix seconds, "value"]
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("query %s: HTTP %s: %w", expr, resp.Status, err)
	}
	if body.Status != "success" || body.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: status %q (%s), result type %q", expr, body.Status, body.Error, body.Data.ResultType)
	}
	var samples []promSample
	for _, r := range body.Data.Result {
		at, _ := r.Value[0].(float64)
		text, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: value %v: %w", expr, r.Value, err)
		}
		samples = append(samples, promSample{r.Metric, v, time.UnixMilli(int64(at * 1000))})
	}
	return samples, nil
}

// single runs a query that must give one series, and returns its value.
func (p *promServer) single(expr string) (float64, error) {
	s, err := p.query(expr)
	if err != nil {
		return 0, err
	}
	if len(s) != 1 {
		return 0, fmt.Errorf("%s: %d series, want 1: %v", expr, len(s), s)
	}
	return s[0].Value, nil
}

// sample returns a series' last scraped value and when it was scraped.
func (p *promServer) sample(expr string) (float64, time.Time, error) {
	v, err := p.single(expr)
	if err != nil {
		return 0, time.Time{}, err
	}
	at, err := p.single("timestamp(" + expr + ")")
	if err != nil {
		return 0, time.Time{}, err
	}
	return v, time.UnixMilli(int64(at * 1000)), nil
}

// want checks the value of a query of one series.
func (p *promServer) want(expr string, ok func(float64) bool, what string) error {
	v, err := p.single(expr)
	if err == nil && !ok(v) {
		err = fmt.Errorf("%s = %v, want %s", expr, v, what)
	}
	return err
}

// wantBackend checks nltrace_backend_info: 1, with the start record's
// backend as its label.
func (p *promServer) wantBackend(backend string) error {
	s, err := p.query("nltrace_backend_info")
	switch {
	case err != nil:
		return err
	case len(s) != 1 || s[0].Value != 1 || s[0].Labels["backend"] != backend:
		return fmt.Errorf("nltrace_backend_info: %v, want one series of value 1 with backend=%q", s, backend)
	}
	return nil
}

// wantTopCulprit checks that a topk by culprit_comm lists culprit first,
// and that its value is indeed the largest (the API keeps topk's order).
func (p *promServer) wantTopCulprit(expr, culprit string) error {
	s, err := p.query(expr)
	if err != nil {
		return err
	}
	if len(s) == 0 || s[0].Labels["culprit_comm"] != culprit {
		return fmt.Errorf("%s: %v, want culprit_comm=%q first", expr, s, culprit)
	}
	for _, o := range s[1:] {
		if o.Value > s[0].Value {
			return fmt.Errorf("%s: %v, not in decreasing order", expr, s)
		}
	}
	return nil
}

// eventually polls check every half second until it passes, and fails
// the test with its last error after d. Scrapes come every second, and
// rate() needs two of them.
func (p *promServer) eventually(t *testing.T, d time.Duration, what string, check func() error) {
	t.Helper()
	began := time.Now()
	deadline := began.Add(d)
	for {
		err := check()
		if err == nil {
			t.Logf("%s: after %v", what, time.Since(began).Round(time.Millisecond))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v\nprometheus:\n%s", what, d, err, p.stderrTail())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// stderrTail is the end of Prometheus's log, for failure messages.
func (p *promServer) stderrTail() string {
	s := p.stderr.String()
	if len(s) > 2000 {
		s = "..." + s[len(s)-2000:]
	}
	return s
}

// syncBuffer is a buffer a process writes to while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
