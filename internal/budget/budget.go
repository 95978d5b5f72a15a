package budget

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/nltrace/nltrace/internal/field"
	"github.com/nltrace/nltrace/nlclient"
)

// Config is a sweep. Its zero value is not valid: see Validate.
type Config struct {
	Links []int     // stable links of each row of the grid
	Rates []float64 // paced churn operations per second of each column
	Kind  nlclient.Kind
	// Attempts bounds the attempts of one dump (the retry budget under
	// test); probabilities for larger budgets are not measured.
	Attempts int
	CellTime time.Duration
	// Exec, when set, runs the user's program in each cell instead of
	// nltrace's dumper; its runs that fail are the budgets it exhausted.
	Exec *Exec
}

// Exec is the user's program, typically their client wrapped in their own
// retry loop.
type Exec struct {
	Command []string
	Timeout time.Duration // per run; 0: none
}

// Budgets are the attempt counts real projects use (kubevirt, moby and the
// CNI plugins 5, Cilium 30), reported in every cell.
var Budgets = []int{1, 5, 30}

// Successes are the shares of dumps a budget is computed for.
var Successes = []float64{0.999, 0.9999}

// MaxRate bounds the rates a sweep accepts. Here the churn engine, with
// the sweep's 4 workers next to a dumper, reached about 290 veth changes
// per second as fast as it could; a cell that falls short of its rate says
// so, and far beyond that a cell would only measure the engine.
const MaxRate = 500

// bad is a field.Error: callers say the field in their own words (a flag).
var bad = field.Bad

// Validate checks the whole sweep before any work.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Links) == 0 {
		errs = append(errs, bad("Links", "[]", "want at least one link count"))
	}
	for _, l := range c.Links {
		if l < 1 || l > 100000 {
			errs = append(errs, bad("Links", l, "want 1 to 100000 links"))
		}
	}
	if len(c.Rates) == 0 {
		errs = append(errs, bad("Rates", "[]", "want at least one churn rate"))
	}
	for _, r := range c.Rates {
		if !(r > 0 && r <= MaxRate) || math.IsInf(r, 0) {
			errs = append(errs, bad("Rates", r, fmt.Sprintf("want more than 0 and at most %d changes per second (the churn engine's pace)", MaxRate)))
		}
	}
	if c.Kind != nlclient.Link && c.Kind != nlclient.Stats && c.Exec == nil {
		errs = append(errs, bad("Kind", c.Kind, "want link or stats: the sweep churns links"))
	}
	if c.Attempts < 1 || c.Attempts > 1000 {
		errs = append(errs, bad("Attempts", c.Attempts, "want 1 to 1000"))
	}
	if c.CellTime < time.Second {
		errs = append(errs, bad("CellTime", c.CellTime, "want at least 1s per cell"))
	}
	if c.Exec != nil && len(c.Exec.Command) == 0 {
		errs = append(errs, bad("Exec.Command", "[]", "want a program to run"))
	}
	return errors.Join(errs...)
}

// Report is a whole sweep.
type Report struct {
	Kind     nlclient.Kind `json:"kind"`
	Attempts int           `json:"attempts"`
	CellTime float64       `json:"cell_time_s"`
	Exec     []string      `json:"exec,omitempty"`
	// K is the model's fitted factor (1: the exposed window alone).
	K     float64 `json:"model_k"`
	Cells []*Cell `json:"cells"`
	// Stopped says why the sweep ended early, empty when it ran its course.
	Stopped string `json:"stopped,omitempty"`
}

// Hooks show the sweep's progress; each may be nil.
type Hooks struct {
	// Cell is called as a cell starts, with its place in the grid and the
	// time the sweep has left at most.
	Cell func(links int, rate float64, index, total int, left time.Duration)
}

// Run measures every cell, row by row. When ctx ends, the report holds the
// cells measured so far and says why it stopped.
func Run(ctx context.Context, cfg Config, hooks Hooks) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rep := &Report{Kind: cfg.Kind, Attempts: cfg.Attempts, CellTime: cfg.CellTime.Seconds()}
	if cfg.Exec != nil {
		rep.Exec = cfg.Exec.Command
	}
	total := len(cfg.Links) * len(cfg.Rates)
	for i, l := range cfg.Links {
		for j, r := range cfg.Rates {
			index := i*len(cfg.Rates) + j
			if hooks.Cell != nil {
				hooks.Cell(l, r, index+1, total, time.Duration(total-index)*cfg.CellTime)
			}
			c, err := measure(ctx, cfg, l, r)
			if ctx.Err() != nil {
				rep.Stopped = context.Cause(ctx).Error()
				rep.finish(cfg)
				return rep, nil
			}
			if err != nil {
				return nil, fmt.Errorf("cell of %d links at %v changes/s: %w", l, r, err)
			}
			rep.Cells = append(rep.Cells, c)
		}
	}
	rep.finish(cfg)
	return rep, nil
}

// finish fits the model over the measured cells and judges each one.
func (r *Report) finish(cfg Config) {
	if cfg.Exec != nil {
		return
	}
	r.K = fitK(r.Cells)
	for _, c := range r.Cells {
		c.judge(r.K)
	}
}

// LinkCounts lists the link counts of the measured cells, in order.
func (r *Report) LinkCounts() []int {
	var out []int
	for _, c := range r.Cells {
		if !slices.Contains(out, c.Links) {
			out = append(out, c.Links)
		}
	}
	return out
}
