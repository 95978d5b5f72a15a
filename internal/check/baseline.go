package check

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Baseline is the facts of one known-good kernel, as
// nltrace check --record-baseline writes them. Given back, its facts
// replace the default expectations: a later kernel fails where a fact
// moved in the direction that hurts (see compare).
type Baseline struct {
	Kernel   string    `json:"kernel"`
	Recorded time.Time `json:"recorded"`
	// CPUs is how many the facts were measured with (0: unknown).
	CPUs  int            `json:"cpus,omitempty"`
	Facts map[string]int `json:"facts"`
}

// NewBaseline keeps the facts of every check that measured one.
func NewBaseline(r *Result) *Baseline {
	b := &Baseline{Kernel: r.Kernel, Recorded: time.Now().UTC().Truncate(time.Second), CPUs: r.Features.CPUs, Facts: map[string]int{}}
	for _, o := range r.Checks {
		if o.Value != nil {
			b.Facts[o.Name] = *o.Value
		}
	}
	return b
}

// ReadBaseline reads a file WriteFile wrote, or one edited by hand.
func ReadBaseline(path string) (*Baseline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read baseline: %w", err)
	}
	var b Baseline
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("baseline %s: %w (want the JSON written by --record-baseline)", path, err)
	}
	if len(b.Facts) == 0 {
		return nil, fmt.Errorf("baseline %s holds no facts (want the JSON written by --record-baseline)", path)
	}
	return &b, nil
}

// WriteFile stores the baseline as indented JSON, meant to be committed
// and reviewed. It replaces path whole or not at all: a good baseline is
// never left half written.
func (b *Baseline) WriteFile(path string) error {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".baseline-")
	if err != nil {
		return fmt.Errorf("write baseline: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(data, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write baseline: %w", err)
	}
	return nil
}

// Unknown lists the baseline's facts that name no check of cfg: a typo in
// an edited file would otherwise compare nothing.
func (b *Baseline) Unknown(names []string) []string {
	var out []string
	for name := range b.Facts {
		found := false
		for _, n := range names {
			found = found || n == name
		}
		if !found {
			out = append(out, name)
		}
	}
	return out
}

func (b *Baseline) fact(name string) (int, bool) {
	if b == nil {
		return 0, false
	}
	v, ok := b.Facts[name]
	return v, ok
}

// comparable says whether a fact compared the way c says can be held to
// this baseline on a machine with cpus CPUs, and if not, why: whether a
// race was seen at all depends on how many CPUs raced (a 6.18 host with
// two saw unflagged wrong address dumps that one CPU, or a guest's one
// vCPU, never showed).
func (b *Baseline) comparable(c compare, cpus int) string {
	if (c == seenIsWorse || c == unseenIsWorse) && b.CPUs != 0 && b.CPUs != cpus {
		return fmt.Sprintf("the baseline of %s was measured with %d CPUs and this run has %d: whether a race was seen is not comparable, so the default expectation applies", b.Kernel, b.CPUs, cpus)
	}
	return ""
}

func baselineExpectation(c compare, base int, kernel string) *expectation {
	e := &expectation{because: "baseline of " + kernel, holds: func(v int) bool { return !c.regressed(base, v) }}
	switch {
	case c == exact:
		e.text = fmt.Sprintf("%d, as on the baseline", base)
	case c == seenIsWorse && base == 0:
		e.text = "never, as on the baseline"
	case c == seenIsWorse:
		e.text = fmt.Sprintf("anything: %d on the baseline", base)
	case c == unseenIsWorse && base > 0:
		e.text = "seen, as on the baseline"
	case c == unseenIsWorse:
		e.text = "anything: not seen on the baseline"
	default:
		e.text = fmt.Sprintf("at least %d: %d on the baseline", base-1, base)
	}
	return e
}
