package report

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/nltrace/nltrace/internal/correlate"
	"github.com/nltrace/nltrace/nlclient"
)

// Report is one run of nltrace dump, in every mode: the caller's
// namespace, a namespace of its own under churn or with an injected
// change, with or without the user's program and kernel attribution. It is
// the one document --json prints; docs/report.schema.json describes it and
// a test keeps the two in step. New sections are added as new fields:
// readers ignore what they do not know.
type Report struct {
	Setup
	Elapsed float64 `json:"elapsed_s"`
	// Stopped says why the run ended early (the signal's name), empty when
	// it ran its course.
	Stopped string        `json:"stopped,omitempty"`
	Kinds   []*KindReport `json:"kinds"`
	Churn   *ChurnReport  `json:"churn,omitempty"`
	Exec    *ExecReport   `json:"exec,omitempty"`
	// Trace is the kernel attribution, present when it was asked for.
	Trace *correlate.Attribution `json:"trace,omitempty"`
}

// Setup is what the run was asked to do.
type Setup struct {
	Kernel string `json:"kernel"`
	// NetNS is the namespace dumped: a namespace of the run's own
	// (OwnNamespace), or the caller's ("" for the current one).
	NetNS        string          `json:"netns"`
	OwnNamespace bool            `json:"own_namespace"`
	LinkKind     string          `json:"link_kind,omitempty"`
	Links        int             `json:"links,omitempty"`
	Addrs        int             `json:"addrs,omitempty"`
	Addrs6       int             `json:"addrs6,omitempty"`
	Nexthops     int             `json:"nexthops,omitempty"`
	Kinds        []nlclient.Kind `json:"dump_kinds"`
	Policy       nlclient.Policy `json:"policy"`
	Retries      int             `json:"retries,omitempty"`
	Dumpers      int             `json:"dumpers"`
	// Dumps is the number of dumps of each kind asked for, Duration the
	// time asked for (one of them is 0).
	Dumps    int     `json:"dumps,omitempty"`
	Duration float64 `json:"duration_s,omitempty"`
	InjectAt int     `json:"inject_at,omitempty"`
}

// KindReport sums the dumps of one kind.
type KindReport struct {
	Kind   nlclient.Kind `json:"kind"`
	Dumps  int           `json:"dumps"`
	Stable int           `json:"stable_objects,omitempty"`
	// Interrupted counts dumps whose first attempt carried the flag.
	Interrupted      int     `json:"interrupted"`
	InterruptedShare float64 `json:"interrupted_share"`
	// Attempts counts every attempt, retries included, and
	// InterruptedAttempts those that carried the flag.
	Attempts            int `json:"attempts"`
	InterruptedAttempts int `json:"interrupted_attempts"`
	// AttemptTime is the mean time of one attempt.
	AttemptTime float64 `json:"attempt_s"`
	// Flagged says on which chunk the flag first landed, most frequent
	// first; DoneOnly counts dumps flagged only on NLMSG_DONE.
	Flagged  []Position   `json:"flagged,omitempty"`
	DoneOnly int          `json:"done_only"`
	Chunks   Distribution `json:"chunks_per_dump"`
	Objects  Distribution `json:"objects_per_dump"`
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
	// Expected is what the running kernel predicts, and what decided it
	// (its BTF or its version).
	Expected string `json:"expected,omitempty"`
}

// InjectReport follows the one change made after chunk At of each dump.
type InjectReport struct {
	At      int `json:"at"`
	Made    int `json:"made"`     // dumps where the change was made
	NotMade int `json:"not_made"` // dumps with no more than At chunks
	Flagged int `json:"flagged"`  // made and flagged
	// Lost counts dumps where the change was made and the dump did not
	// show it: the kernel's lost window (docs/kernel.md).
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
	// Statuses counts runs by how they ended ("exit 0", "timeout", "cut
	// short by the end of the run", ...).
	Statuses []Count `json:"statuses"`
	// Symptoms counts runs whose output contained each known symptom.
	Symptoms []Count `json:"symptoms"`
	// Failed counts runs that ended other than with exit 0, not counting
	// those cut short.
	Failed int `json:"failed"`
	// CutShort counts runs still going when the run ended (its duration,
	// its dumps, a signal), killed then. They are in Runs and Statuses, and
	// their output up to then in Symptoms.
	CutShort int `json:"cut_short,omitempty"`
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
