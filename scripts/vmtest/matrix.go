package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/nltrace/nltrace/internal/vm"
)

// guestRun ties a kernel to what its guest reported. Err is set when the
// guest could not even be started (build, initramfs, QEMU missing).
type guestRun struct {
	Kernel   *vm.Kernel
	Require  string
	Pkgs     []testPkg
	BuildErr error // outside any package (./cmd/nltrace for NLTRACE_BIN)
	Result   *bootResult
	Err      error
}

// verdict names a package's outcome in the matrix. Anything but "ok" fails
// the run: a package the guest never reported on is a failure, not a pass.
func verdict(p testPkg, r *pkgResult) string {
	switch {
	case p.BuildErr != nil:
		return "BUILD FAILED"
	case r == nil || !r.Began:
		return "NOT RUN"
	case !r.Ended:
		return "NO END MARKER"
	case r.Failed > 0:
		return "FAIL"
	case r.ExitCode != 0:
		return fmt.Sprintf("FAIL (exit %d)", r.ExitCode)
	}
	return "ok"
}

// guestProblem explains why a guest's report is incomplete, or "".
func guestProblem(g *guestRun) string {
	switch res := g.Result; {
	case g.Err != nil:
		return "guest not started: " + g.Err.Error()
	case res == nil:
		return "" // nothing built to run: the rows say why
	case !res.Report.Booted:
		return "guest never reached /init (boot failure or panic)"
	case res.TimedOut:
		return fmt.Sprintf("guest timed out after %.0fs", res.Wall.Seconds())
	case !res.Report.Done:
		return "guest stopped before reporting all packages (panic or crash)"
	}
	return ""
}

// writeMatrix prints one row per kernel and package and returns whether
// everything passed. The kernel's release names its architecture.
func writeMatrix(w io.Writer, runs []*guestRun) bool {
	allOK := true
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KERNEL\tPACKAGE\tPASSED\tFAILED\tSKIPPED\tSECS\tRESULT")
	for _, g := range runs {
		var rep *guestReport
		if g.Result != nil {
			rep = g.Result.Report
		}
		var sum pkgResult
		for _, p := range g.Pkgs {
			var r *pkgResult
			if rep != nil {
				r = rep.Pkgs[p.Name()]
			}
			v := verdict(p, r)
			if v != "ok" {
				allOK = false
			}
			if r == nil {
				fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t%s\n", g.Kernel.Release, p.Name(), v)
				continue
			}
			sum.Passed, sum.Failed, sum.Skipped, sum.Secs = sum.Passed+r.Passed, sum.Failed+r.Failed, sum.Skipped+r.Skipped, sum.Secs+r.Secs
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.1f\t%s\n",
				g.Kernel.Release, p.Name(), r.Passed, r.Failed, r.Skipped, r.Secs, v)
		}
		wall := "-"
		if g.Result != nil {
			wall = fmt.Sprintf("%.1f", g.Result.Wall.Seconds())
		}
		fmt.Fprintf(tw, "%s\t(total)\t%d\t%d\t%d\t%s\ttests %.1fs; SECS is QEMU start to exit\n",
			g.Kernel.Release, sum.Passed, sum.Failed, sum.Skipped, wall, sum.Secs)
	}
	tw.Flush()
	for _, g := range runs {
		if g.BuildErr != nil {
			allOK = false
			fmt.Fprintf(w, "%s: %v\n", g.Kernel.Release, g.BuildErr)
		}
		if p := guestProblem(g); p != "" {
			allOK = false
			fmt.Fprintf(w, "%s: %s\n", g.Kernel.Release, p)
		}
		if g.Result == nil {
			continue
		}
		rep := g.Result.Report
		// An image's release is only known once it booted.
		if rep.Booted && g.Kernel.Spec.Image == "" && rep.Release != g.Kernel.Release {
			allOK = false
			fmt.Fprintf(w, "%s: guest reports release %q\n", g.Kernel.Release, rep.Release)
		}
		for _, name := range rep.Order {
			r := rep.Pkgs[name]
			if r.Panic != "" {
				fmt.Fprintf(w, "%s: %s: %s\n", g.Kernel.Release, name, r.Panic)
			}
			if len(r.FailedTests) > 0 {
				fmt.Fprintf(w, "%s: %s failed: %s\n", g.Kernel.Release, name, strings.Join(r.FailedTests, ", "))
			}
			for _, b := range r.Benchmarks {
				fmt.Fprintf(w, "%s: %s: %s\n", g.Kernel.Release, name, b)
			}
		}
		fmt.Fprintf(w, "%s: serial log %s\n", g.Kernel.Release, g.Result.Log)
	}
	if allOK {
		fmt.Fprintln(w, "PASS: every package passed on every kernel")
	} else {
		fmt.Fprintln(w, "FAIL")
	}
	return allOK
}
