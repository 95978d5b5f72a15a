package budget

import (
	"context"
	"fmt"
	"math"

	"github.com/nltrace/nltrace/internal/churn"
	"github.com/nltrace/nltrace/internal/repro"
	"github.com/nltrace/nltrace/internal/run"
	"github.com/nltrace/nltrace/nlclient"
)

// Cell is one (links, rate) point of the grid.
type Cell struct {
	Links int     `json:"links"`
	Asked float64 `json:"asked_rate"`
	// Rate is the churn the cell really had, in changes per second; Short
	// says it fell more than 10% below the rate asked.
	Rate  float64 `json:"rate"`
	Short bool    `json:"short,omitempty"`

	// Dumps counts whole dumps (each up to Attempts attempts), Attempts
	// and Interrupted every attempt.
	Dumps       int     `json:"dumps"`
	Attempts    int     `json:"attempts"`
	Interrupted int     `json:"interrupted_attempts"`
	AttemptTime float64 `json:"attempt_s"`
	Chunks      float64 `json:"chunks"`
	Exposed     float64 `json:"exposed_s"`
	// Streak[n] counts dumps whose first n attempts were all interrupted
	// and the next was not (or that gave up after n = Attempts).
	Streak []int `json:"streak"`
	// Fail[i] is the probability that Budgets[i] attempts in a row all
	// fail; Model[i] the model's.
	Fail  []Interval `json:"fail"`
	Model []float64  `json:"model"`
	// Agree[i] says the model lies within Fail[i]'s interval.
	Agree []bool `json:"agree"`
	// Need[i] is the smallest budget for Successes[i], 0 when the cell
	// cannot tell; NeedWhy says why not.
	Need    []int    `json:"need"`
	NeedWhy []string `json:"need_why"`

	// Runs and Exhausted are the user's program's, with --exec: how many
	// ran and how many failed (exhausted their own retries).
	Runs      int       `json:"runs,omitempty"`
	Exhausted *Interval `json:"exhausted,omitempty"`
}

// measure runs one cell.
func measure(ctx context.Context, cfg Config, links int, rate float64) (*Cell, error) {
	ns := churn.Config{Links: links, Workers: 4, Rate: rate, Mix: churn.Mix{churn.LinkOps: 1}}
	c := &Cell{Links: links, Asked: rate, Streak: make([]int, cfg.Attempts+1)}
	rc := run.Config{Duration: cfg.CellTime, Namespace: &ns}
	var hooks run.Hooks
	failedRuns := 0
	if cfg.Exec != nil {
		rc.Exec = &run.Exec{Command: cfg.Exec.Command, Timeout: cfg.Exec.Timeout}
		hooks.ExecRun = func(r repro.ExecRun) {
			if r.CutShort {
				return
			}
			c.Runs++
			if r.ExitCode != 0 {
				failedRuns++
			}
		}
	} else {
		rc.Kinds, rc.Dumpers = []nlclient.Kind{cfg.Kind}, 1
		rc.Options = nlclient.Options{Policy: nlclient.Retry, Attempts: cfg.Attempts}
		hooks.Dump = func(d repro.Dump) {
			if d.Result == nil {
				return
			}
			n := len(d.Result.Earlier)
			if d.Err != nil { // the last attempt was interrupted too
				n++
			}
			c.Streak[min(n, cfg.Attempts)]++
		}
	}
	rep, err := run.Run(ctx, rc, hooks)
	if err != nil {
		return nil, err
	}
	if rep.Churn != nil && rep.Churn.Seconds > 0 {
		for _, o := range rep.Churn.Ops {
			c.Rate += o.PerSecond
		}
	}
	c.Short = c.Rate < 0.9*rate
	if cfg.Exec != nil {
		if c.Runs == 0 {
			return nil, fmt.Errorf("%s never finished a run in %v", cfg.Exec.Command[0], cfg.CellTime)
		}
		in := wilson(failedRuns, c.Runs)
		c.Exhausted = &in
		return c, nil
	}
	k := rep.Kinds[0]
	c.Dumps, c.Attempts, c.Interrupted = k.Dumps, k.Attempts, k.InterruptedAttempts
	c.AttemptTime, c.Chunks = k.AttemptTime, k.Chunks.Mean
	c.Exposed = exposed(c.AttemptTime, c.Chunks)
	if c.Dumps == 0 {
		// A result, not a failure: at this size and pace no dump got
		// through its attempts in the cell's time.
		why := fmt.Sprintf("no dump finished its %d attempts in %v", cfg.Attempts, cfg.CellTime)
		for range Budgets {
			c.Fail = append(c.Fail, Interval{K: -1, High: 1})
		}
		for range Successes {
			c.Need, c.NeedWhy = append(c.Need, 0), append(c.NeedWhy, why)
		}
		return c, nil
	}
	for _, n := range Budgets {
		f := c.failedAll(n)
		if f < 0 { // more attempts than allowed: not measured
			c.Fail = append(c.Fail, Interval{K: -1, N: c.Dumps, High: 1})
			continue
		}
		c.Fail = append(c.Fail, wilson(f, c.Dumps))
	}
	for _, s := range Successes {
		need, why := c.budget(s, cfg.Attempts)
		c.Need, c.NeedWhy = append(c.Need, need), append(c.NeedWhy, why)
	}
	return c, nil
}

// failedAll counts the dumps whose first n attempts all failed; -1 when n
// is more attempts than a dump was allowed (unknown).
func (c *Cell) failedAll(n int) int {
	if n >= len(c.Streak) {
		return -1
	}
	k := 0
	for s := n; s < len(c.Streak); s++ {
		k += c.Streak[s]
	}
	return k
}

// budget is the smallest n whose failure probability's upper bound is
// below 1-success, or 0 with the reason there is none.
func (c *Cell) budget(success float64, attempts int) (int, string) {
	if need := dumpsFor(success); c.Dumps < need {
		return 0, fmt.Sprintf("%d dumps cannot show %s: it takes %d", c.Dumps, successWords(success), need)
	}
	for n := 1; n <= attempts; n++ {
		if wilson(c.failedAll(n), c.Dumps).High <= 1-success {
			return n, ""
		}
	}
	return 0, fmt.Sprintf("more than the %d attempts allowed", attempts)
}

// judge puts the model beside the measurement: the first-attempt
// probability from the rate and the exposed window, then independent
// attempts.
func (c *Cell) judge(k float64) {
	if c.Dumps == 0 {
		return
	}
	p := modelP(k, c.Rate, c.Exposed)
	c.Model, c.Agree = nil, nil
	for i, n := range Budgets {
		m := math.Pow(p, float64(n))
		c.Model = append(c.Model, m)
		c.Agree = append(c.Agree, c.Fail[i].K < 0 || c.Fail[i].Contains(m))
	}
}
