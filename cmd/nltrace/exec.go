package main

import (
	"context"

	"github.com/nltrace/nltrace/internal/churn"
	"github.com/nltrace/nltrace/internal/report"
	"github.com/nltrace/nltrace/internal/repro"
)

// runExec runs the user's program (--exec -- CMD ARGS...) over and over in
// the churning namespace: once per --dumps, or until the run ends.
func runExec(ctx context.Context, cfg churnConfig, eng *churn.Engine, coll *report.Collector) error {
	return repro.RunExec(ctx, repro.ExecConfig{
		Command: cfg.exec, NetNS: eng.Target().Path, Timeout: cfg.execTO, Runs: cfg.dumps,
	}, func(r repro.ExecRun) { coll.AddExec(cfg.exec, r) })
}
