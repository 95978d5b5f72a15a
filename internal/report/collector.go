package report

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nltrace/nltrace/internal/repro"
	"github.com/nltrace/nltrace/nlclient"
)

// Collector folds dumps and program runs into a Report as they come. It
// keeps counts and one small sample per dump (attempts), never the dumps.
// Its methods may be called from several goroutines.
type Collector struct {
	mu     sync.Mutex
	setup  Setup
	start  time.Time
	kinds  []nlclient.Kind
	acc    map[nlclient.Kind]*kindAcc
	exec   *execAcc
	stable func(nlclient.Kind) int
}

type kindAcc struct {
	dumps, interrupted, doneOnly  int
	flagged                       map[int]int
	chunks, objects               summer
	firstInterrupt                time.Duration
	dumpsToFirst                  int
	consistentAfter               []int // attempts of each dump that reached a consistent result
	attempts, interruptedAttempts int
	attemptTime                   time.Duration
	gaveUp                        int
	cons                          ConsistencyReport
	consChecked                   bool
	inject                        InjectReport
}

type execAcc struct {
	command  []string
	runs     int
	statuses map[string]int
	symptoms map[string]int
	failed   int
	cutShort int
	symptom  int // runs with at least one symptom
}

// NewCollector starts collecting dumps of the given kinds; times are
// measured from now.
func NewCollector(setup Setup, kinds []nlclient.Kind) *Collector {
	c := &Collector{setup: setup, start: time.Now(), kinds: kinds, acc: map[nlclient.Kind]*kindAcc{}}
	for _, k := range kinds {
		c.acc[k] = &kindAcc{flagged: map[int]int{}, firstInterrupt: -1}
	}
	return c
}

// Setup is what the run was asked to do.
func (c *Collector) Setup() Setup { return c.setup }

// Add records one dump.
func (c *Collector) Add(d repro.Dump) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.acc[d.Kind]
	if a == nil {
		return
	}
	first := d.FirstAttempt()
	a.dumps++
	a.chunks.add(len(d.Result.Chunks))
	a.objects.add(len(d.Result.Objects))
	for _, r := range append(slices.Clone(d.Result.Earlier), d.Result) {
		a.attempts++
		a.attemptTime += r.Duration
		if r.Interrupted() {
			a.interruptedAttempts++
		}
	}
	if first.Interrupted() {
		a.interrupted++
		if first.FirstInterrupted > 0 {
			a.flagged[first.FirstInterrupted]++
		} else {
			a.doneOnly++
		}
		if end := first.Start.Add(first.Duration).Sub(c.start); a.firstInterrupt < 0 || end < a.firstInterrupt {
			a.firstInterrupt, a.dumpsToFirst = end, a.dumps
		}
	}
	if c.setup.Policy == nlclient.Retry {
		if d.Result.Interrupted() {
			a.gaveUp++
		} else {
			a.consistentAfter = append(a.consistentAfter, d.Result.Attempt)
		}
	}
	if d.Consistency != nil {
		a.consChecked = true
		a.cons.Checked++
		if !d.Consistency.OK() {
			a.cons.Inconsistent++
			if !d.Result.Interrupted() {
				a.cons.Unflagged++
			}
		}
		a.cons.Missing += len(d.Consistency.Missing)
		a.cons.Repeated += len(d.Consistency.Repeated)
	}
	if inj := d.Injection; inj != nil {
		a.inject.At = inj.At
		switch {
		case !inj.Made:
			a.inject.NotMade++
		case first.Interrupted():
			a.inject.Made++
			a.inject.Flagged++
		default:
			a.inject.Made++
			a.inject.Lost++
		}
	}
}

// AddExec records one run of the user's program.
func (c *Collector) AddExec(command []string, r repro.ExecRun) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exec == nil {
		c.exec = &execAcc{command: command, statuses: map[string]int{}, symptoms: map[string]int{}}
	}
	e := c.exec
	e.runs++
	e.statuses[r.Status()]++
	switch {
	case r.CutShort:
		e.cutShort++
	case r.Status() != "exit 0":
		e.failed++
	}
	for _, s := range r.Symptoms {
		e.symptoms[s]++
	}
	if len(r.Symptoms) > 0 {
		e.symptom++
	}
}

// Report builds the report so far; stable gives each kind's count of
// stable objects, expected what the kernel predicts for consistency.
func (c *Collector) Report(stable func(nlclient.Kind) int, expected func(nlclient.Kind) string) *Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := &Report{Setup: c.setup, Elapsed: seconds(time.Since(c.start)), Kinds: []*KindReport{}}
	for _, k := range c.kinds {
		a := c.acc[k]
		kr := &KindReport{
			Kind: k, Dumps: a.dumps, Interrupted: a.interrupted, DoneOnly: a.doneOnly,
			Flagged: positions(a.flagged), Chunks: a.chunks.distribution(), Objects: a.objects.distribution(),
			Attempts: a.attempts, InterruptedAttempts: a.interruptedAttempts,
		}
		if a.attempts > 0 {
			kr.AttemptTime = seconds(a.attemptTime / time.Duration(a.attempts))
		}
		if stable != nil {
			kr.Stable = stable(k)
		}
		if a.dumps > 0 {
			kr.InterruptedShare = float64(a.interrupted) / float64(a.dumps)
		}
		if a.firstInterrupt >= 0 {
			s := seconds(a.firstInterrupt)
			kr.FirstInterrupt, kr.DumpsToFirstInterrupt = &s, a.dumpsToFirst
		}
		if c.setup.Policy == nlclient.Retry {
			att := sorted(a.consistentAfter)
			rr := &RetryReport{Consistent: len(att), GaveUp: a.gaveUp,
				P50: Percentile(att, 50), P99: Percentile(att, 99)}
			if len(att) > 0 {
				rr.Max = att[len(att)-1]
			}
			rr.Budget999, rr.Budget999Reached = Budget(att, a.dumps, 0.999)
			kr.Retry = rr
		}
		if a.consChecked {
			cons := a.cons
			if expected != nil {
				cons.Expected = expected(k)
			}
			kr.Consistency = &cons
		}
		if c.setup.InjectAt > 0 {
			inj := a.inject
			inj.At = c.setup.InjectAt
			kr.Inject = &inj
		}
		r.Kinds = append(r.Kinds, kr)
	}
	if e := c.exec; e != nil {
		er := &ExecReport{Command: e.command, Runs: e.runs, Failed: e.failed, CutShort: e.cutShort}
		for s, n := range e.statuses {
			er.Statuses = append(er.Statuses, Count{s, n})
		}
		slicesSortCounts(er.Statuses)
		for _, s := range repro.Symptoms {
			er.Symptoms = append(er.Symptoms, Count{s, e.symptoms[s]})
		}
		r.Exec = er
	}
	return r
}

// Status is one line on the progress of the run.
func (c *Collector) Status() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	parts := []string{fmt.Sprintf("%5.1fs", time.Since(c.start).Seconds())}
	for _, k := range c.kinds {
		a := c.acc[k]
		share := 0.0
		if a.dumps > 0 {
			share = 100 * float64(a.interrupted) / float64(a.dumps)
		}
		parts = append(parts, fmt.Sprintf("%v %d dumps, %d interrupted (%.1f%%)", k, a.dumps, a.interrupted, share))
	}
	if e := c.exec; e != nil {
		parts = append(parts, fmt.Sprintf("exec %d runs, %d failed, %d with a symptom", e.runs, e.failed, e.symptom))
	}
	return strings.Join(parts, " | ")
}
