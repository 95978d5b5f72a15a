// Package run is nltrace's one entry point for a reproduction or a
// measurement: Run dumps a namespace (the caller's, read-only, or one of
// its own that it populates and churns), runs the user's program there,
// attaches the kernel probe, and returns one report.Report.
//
// It owns every lifetime of the run: the namespace, the churn workers, the
// dumpers, the program's runs and the probe. Whatever ends the run (the
// last dump, the duration, the caller's context, a worker's error or
// panic), everything it started is stopped and removed before Run
// returns. It prints nothing: progress and streaming go through the
// callbacks in Hooks.
package run
