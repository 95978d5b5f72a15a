package report

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/nltrace/nltrace/internal/correlate"
	"github.com/nltrace/nltrace/nlclient"
)

// Report is one run. New sections (the tracer's attribution) are added as
// new fields; readers of the JSON ignore what they do not know.
type Report struct {
	Setup
	Elapsed float64 `json:"elapsed_s"`
	// Stopped says why the run ended early ("signal"), empty when it ran
	// its course.
	Stopped string        `json:"stopped,omitempty"`
	Kinds   []*KindReport `json:"kinds,omitempty"`
	Churn   *ChurnReport  `json:"churn,omitempty"`
	Exec    *ExecReport   `json:"exec,omitempty"`
	// Trace is the kernel attribution (--trace), printed last.
	Trace *correlate.Report `json:"trace,omitempty"`
}

// Setup is what the run was asked to do.
type Setup struct {
	Kernel   string          `json:"kernel"`
	NetNS    string          `json:"netns"`
	LinkKind string          `json:"link_kind"`
	Links    int             `json:"links"`
	Addrs    int             `json:"addrs,omitempty"`
	Addrs6   int             `json:"addrs6,omitempty"`
	Nexthops int             `json:"nexthops,omitempty"`
	Policy   nlclient.Policy `json:"policy"`
	Retries  int             `json:"retries,omitempty"`
	Dumpers  int             `json:"dumpers"`
	InjectAt int             `json:"inject_at,omitempty"`
}

// KindReport sums the dumps of one kind.
type KindReport struct {
	Kind   nlclient.Kind `json:"kind"`
	Dumps  int           `json:"dumps"`
	Stable int           `json:"stable_objects,omitempty"`
	// Interrupted counts dumps whose first attempt carried the flag.
	Interrupted      int     `json:"interrupted"`
	InterruptedShare float64 `json:"interrupted_share"`
	// Flagged says on which chunk the flag first landed (Chunk 0: only on
	// NLMSG_DONE), most frequent first.
	Flagged  []Position `json:"flagged,omitempty"`
	DoneOnly int        `json:"done_only"`
	Chunks   Summary    `json:"chunks_per_dump"`
	Objects  Summary    `json:"objects_per_dump"`
	// FirstInterrupt is the time from the first dump's start to the end of
	// the first interrupted one, and how many dumps had ended by then.
	FirstInterrupt        *float64           `json:"first_interrupt_s,omitempty"`
	DumpsToFirstInterrupt int                `json:"dumps_to_first_interrupt,omitempty"`
	Retry                 *RetryReport       `json:"retry,omitempty"`
	Consistency           *ConsistencyReport `json:"consistency,omitempty"`
	Inject                *InjectReport      `json:"inject,omitempty"`
}

// Position is a chunk and how many dumps were first flagged there.
type Position struct {
	Chunk int `json:"chunk"`
	Dumps int `json:"dumps"`
}

// RetryReport is what the retry policy cost.
type RetryReport struct {
	Consistent int `json:"consistent"`           // dumps that got a result without the flag
	GaveUp     int `json:"gave_up"`              // dumps still interrupted after the last attempt
	P50        int `json:"attempts_p50"`         // over the consistent ones
	P99        int `json:"attempts_p99"`         //
	Max        int `json:"attempts_max"`         //
	Budget999  int `json:"budget_999,omitempty"` // attempts that 99.9% of all dumps needed
	// Budget999Reached is false when fewer than 99.9% of the dumps got a
	// consistent result within the attempts allowed.
	Budget999Reached bool `json:"budget_999_reached"`
}

// ConsistencyReport compares each dump's data with the objects known to
// exist throughout it. Under the lenient policy these errors reach the
// caller silently.
type ConsistencyReport struct {
	Checked      int `json:"checked"`
	Inconsistent int `json:"inconsistent"` // dumps that missed or repeated a stable object
	Unflagged    int `json:"unflagged"`    // of those, dumps without the flag: undetectable
	Missing      int `json:"missing"`      // stable objects missed, over all dumps
	Repeated     int `json:"repeated"`     // objects returned twice, over all dumps
	// Expected is what the kernel's version predicts.
	Expected string `json:"expected,omitempty"`
}

// InjectReport follows the one change made after chunk At of each dump.
type InjectReport struct {
	At      int `json:"at"`
	Made    int `json:"made"`     // dumps where the change was made
	NotMade int `json:"not_made"` // dumps with no more than At chunks
	Flagged int `json:"flagged"`  // made and flagged
	// Lost counts dumps where the change was made and the dump did not
	// show it: the kernel's lost window (notes/kernel.md).
	Lost int `json:"lost"`
}

// ChurnReport is what the churn engine did.
type ChurnReport struct {
	Workers int      `json:"workers"`
	Rate    float64  `json:"target_rate,omitempty"`
	Mix     string   `json:"mix"`
	Seconds float64  `json:"seconds"`
	Ops     []OpRate `json:"ops"`
	Errors  uint64   `json:"errors,omitempty"`
}

// OpRate is one kind of churn operation.
type OpRate struct {
	Kind      string  `json:"kind"`
	Count     uint64  `json:"count"`
	PerSecond float64 `json:"per_second"`
}

// ExecReport sums the runs of the user's program.
type ExecReport struct {
	Command []string `json:"command"`
	Runs    int      `json:"runs"`
	// Statuses counts runs by how they ended ("exit 0", "timeout", ...).
	Statuses []Count `json:"statuses"`
	// Symptoms counts runs whose output contained each known symptom.
	Symptoms []Count `json:"symptoms"`
	// Failed counts runs that did not exit 0.
	Failed int `json:"failed"`
}

// Count is a label and how many runs had it.
type Count struct {
	Label string `json:"label"`
	Runs  int    `json:"runs"`
}

// AnyInterrupted reports whether the run reproduced an interruption: a
// dump flagged, or a symptom in the program's output.
func (r *Report) AnyInterrupted() bool {
	for _, k := range r.Kinds {
		if k.Interrupted > 0 {
			return true
		}
	}
	if r.Exec != nil {
		for _, s := range r.Exec.Symptoms {
			if s.Runs > 0 {
				return true
			}
		}
	}
	return false
}

func seconds(d time.Duration) float64 { return d.Seconds() }

func positions(m map[int]int) []Position {
	var out []Position
	for c, n := range m {
		out = append(out, Position{Chunk: c, Dumps: n})
	}
	slices.SortFunc(out, func(a, b Position) int {
		return cmp.Or(b.Dumps-a.Dumps, a.Chunk-b.Chunk)
	})
	return out
}

func slicesSortCounts(c []Count) {
	slices.SortFunc(c, func(a, b Count) int { return cmp.Or(b.Runs-a.Runs, strings.Compare(a.Label, b.Label)) })
}
