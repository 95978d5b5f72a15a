package check

import (
	"fmt"
	"time"
)

// Verdict is how one check ended.
type Verdict string

const (
	// Pass: the expectation held (and the baseline, when given, agreed).
	Pass Verdict = "pass"
	// Measured: nothing was expected of this kernel; the fact is kept for
	// baselines.
	Measured Verdict = "measured"
	// Regression: the fact broke an expectation or moved away from the
	// baseline in the direction that hurts.
	Regression Verdict = "regression"
	// Skipped: the kernel cannot be asked (no backend attaches, no
	// nexthops); the reason is in the measured text.
	Skipped Verdict = "skipped"
	// Error: the measurement itself failed.
	Error Verdict = "error"
)

// Outcome is one check on one kernel.
type Outcome struct {
	Name string `json:"name"`
	// Expect is what was expected, Because where that came from; both
	// empty when nothing was.
	Expect  string `json:"expect,omitempty"`
	Because string `json:"because,omitempty"`
	// Value is the fact compared with expectations and baselines; nil when
	// the check was skipped or failed.
	Value *int `json:"value,omitempty"`
	// Measured says the fact in words, or why there is none.
	Measured string  `json:"measured"`
	Verdict  Verdict `json:"verdict"`
	// Sample is the end of the output of the first run that showed the
	// fact (client checks), to show why it failed.
	Sample string `json:"sample,omitempty"`
	// Baseline is the baseline's value of the fact, when one was given.
	Baseline *int    `json:"baseline,omitempty"`
	Secs     float64 `json:"secs"`
}

// Result is the suite on one kernel.
type Result struct {
	Kernel   string    `json:"kernel"` // uname -r
	Spec     string    `json:"spec,omitempty"`
	Features Features  `json:"features"`
	Checks   []Outcome `json:"checks"`
	// Secs is the suite's time; Boot, for a kernel booted under QEMU, the
	// time from QEMU's start to the verdict, and Accel how it ran.
	Secs  float64 `json:"secs"`
	Boot  float64 `json:"boot_to_verdict_s,omitempty"`
	Accel string  `json:"accel,omitempty"`
	// Err is set when the kernel could not be checked at all (a guest that
	// never answered); Checks may then be empty.
	Err string `json:"error,omitempty"`
}

// Status sums every kernel's verdicts into nltrace check's exit status.
const (
	StatusOK         = 0
	StatusError      = 1 // a check or a kernel could not be measured
	StatusRegression = 4
)

// Status is 1 when anything could not be measured (the suite cannot
// vouch for a kernel it did not measure), else 4 when any check regressed,
// else 0.
func Status(results []*Result) int {
	regressed := false
	for _, r := range results {
		if r.Err != "" {
			return StatusError
		}
		for _, o := range r.Checks {
			switch o.Verdict {
			case Error:
				return StatusError
			case Regression:
				regressed = true
			}
		}
	}
	if regressed {
		return StatusRegression
	}
	return StatusOK
}

// Regressions names the checks that regressed, as KERNEL: CHECK.
func Regressions(results []*Result) []string {
	var out []string
	for _, r := range results {
		for _, o := range r.Checks {
			if o.Verdict == Regression {
				out = append(out, fmt.Sprintf("%s: %s", r.Kernel, o.Name))
			}
		}
	}
	return out
}

func secs(d time.Duration) float64 { return float64(d.Round(time.Millisecond)) / float64(time.Second) }
