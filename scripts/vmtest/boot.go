package main

import (
	"bufio"
	"regexp"
	"strconv"
	"strings"

	"github.com/nltrace/nltrace/internal/vm"
)

// bootResult is what the host learned from one guest: vm.Boot's result
// and what the serial log says about the tests.
type bootResult struct {
	vm.Result
	Report *guestReport
}

// markerPrefix starts every line /init prints for the host (vm.Markers).
const markerPrefix = "@@vmtest"

// shellFlag on the kernel command line makes /init start a shell instead
// of the tests.
const shellFlag = "vmtest.shell"

// pkgResult is one package's outcome inside one guest.
type pkgResult struct {
	Pkg                     string
	Began, Ended            bool
	ExitCode                int
	Secs                    float64
	Passed, Failed, Skipped int
	FailedTests             []string
	Panic                   string   // first "panic:" line, e.g. a -test.timeout
	Benchmarks              []string // result lines of -bench runs
}

// OK is the single place a package's verdict is decided: it must have
// finished, exited zero and reported no failed test.
func (r *pkgResult) OK() bool { return r.Ended && r.ExitCode == 0 && r.Failed == 0 }

// guestReport is everything the serial log says about the payload.
type guestReport struct {
	Booted  bool
	Release string
	Require string
	Done    bool
	Pkgs    map[string]*pkgResult
	Order   []string
}

var (
	resultRE = regexp.MustCompile(`^\s*--- (PASS|FAIL|SKIP): (\S+)`)
	// After "panic: test timed out", go test lists the running tests as
	// "\t\tTestX (4m54s)": those are the ones that hung.
	runningRE = regexp.MustCompile(`^\t\t(\S+) \([0-9hms.]+\)$`)
)

// parseLog reads markers and go test -v result lines. Markers carry the
// run's random id: output of an earlier run, or a test printing something
// marker-like, cannot count. Subtests are counted like tests.
func parseLog(log, runID string) *guestReport {
	rep := &guestReport{Pkgs: map[string]*pkgResult{}}
	var cur *pkgResult
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if m, ok := vm.ParseMarker(line, markerPrefix, runID); ok {
			fields := m.Fields
			switch m.Word {
			case "boot":
				rep.Booted, rep.Release, rep.Require = true, fields["release"], fields["require"]
			case "begin":
				name := fields["pkg"]
				cur = &pkgResult{Pkg: name, Began: true, ExitCode: -1}
				if rep.Pkgs[name] == nil {
					rep.Order = append(rep.Order, name)
				}
				rep.Pkgs[name] = cur
			case "end":
				r := rep.Pkgs[fields["pkg"]]
				if r == nil {
					continue
				}
				r.Ended = true
				if rc, err := strconv.Atoi(fields["rc"]); err == nil {
					r.ExitCode = rc
				}
				r.Secs, _ = strconv.ParseFloat(fields["secs"], 64)
				cur = nil
			case "done":
				rep.Done = true
			}
			continue
		}
		if cur == nil {
			continue
		}
		if strings.HasPrefix(line, "panic: ") && cur.Panic == "" {
			cur.Panic = line
		}
		if strings.HasPrefix(cur.Panic, "panic: test timed out") {
			if m := runningRE.FindStringSubmatch(line); m != nil {
				cur.FailedTests = append(cur.FailedTests, m[1]+" (hung)")
			}
		}
		if strings.HasPrefix(line, "Benchmark") && strings.Contains(line, "ns/op") {
			cur.Benchmarks = append(cur.Benchmarks, line)
		}
		m := resultRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		switch m[1] {
		case "PASS":
			cur.Passed++
		case "FAIL":
			cur.Failed++
			cur.FailedTests = append(cur.FailedTests, m[2])
		case "SKIP":
			cur.Skipped++
		}
	}
	return rep
}
