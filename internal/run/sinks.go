package run

import (
	"sync"

	"github.com/nltrace/nltrace/internal/report"
	"github.com/nltrace/nltrace/internal/repro"
)

// sinks hands every dump and program run to the report, the tracer and
// the caller's hooks, one at a time.
type sinks struct {
	mu      sync.Mutex
	coll    *report.Collector
	tr      *tracer
	hooks   Hooks
	command []string // of the user's program
}

func newSinks(coll *report.Collector, tr *tracer, hooks Hooks, exec *Exec) *sinks {
	s := &sinks{coll: coll, tr: tr, hooks: hooks}
	if exec != nil {
		s.command = exec.Command
	}
	return s
}

func (s *sinks) dump(d repro.Dump) {
	s.coll.Add(d)
	s.tr.add(d.Result)
	if s.hooks.Dump != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.hooks.Dump(d)
	}
}

func (s *sinks) execRun(r repro.ExecRun) {
	s.coll.AddExec(s.command, r)
	if s.hooks.ExecRun != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.hooks.ExecRun(r)
	}
}
