package watch

import (
	"cmp"
	"slices"
	"time"
)

// retryGap is how soon after an interrupted dump the next dump of the
// same process, kind and namespace must start to count as its retry.
// Retry loops back off by milliseconds; periodic listings come seconds
// apart.
const retryGap = time.Second

// maxDumpers bounds the process names the summary and the metrics keep;
// later names are counted under otherComm.
const maxDumpers = 256

// MaxProcesses is how many processes of one name a Dumper counts.
const MaxProcesses = maxDumpers

const otherComm = "(other)"

// Dumper is one process name's figures ("comm" as in /proc/PID/comm): a
// daemon is one process, a shell loop of `ip link show` many.
type Dumper struct {
	Comm string `json:"comm"`
	// PID is the process's id while one process of this name dumped;
	// Processes counts them, up to maxDumpers (256).
	PID       uint32 `json:"pid,omitempty"`
	Processes int    `json:"processes"`
	Dumps     int    `json:"dumps"`
	// Interrupted counts the dumps flagged; Explained those whose every
	// flag has its writers named.
	Interrupted int     `json:"interrupted"`
	Share       float64 `json:"interrupted_share"`
	Explained   int     `json:"explained"`
	// Retries counts dumps started right after an interrupted one of the
	// same kind and namespace; LongestRun is the most interrupted
	// attempts in a row.
	Retries    int       `json:"retries"`
	LongestRun int       `json:"longest_run"`
	Culprits   []Culprit `json:"culprits,omitempty"`
	pids       map[uint32]bool
	culprits   map[string]int
}

// Culprit is a process name (or "kernel", "kernel worker") and how many
// of a dumper's interrupted dumps it took part in.
type Culprit struct {
	Comm  string `json:"comm"`
	Dumps int    `json:"dumps"`
}

// streakKey is one sequence of dumps: a retry loop dumps the same kind,
// in the same namespace, from the same process.
type streakKey struct {
	pid   uint32
	netns uint64
	kind  string
}

type streak struct {
	end         uint64 // the last dump's end, CLOCK_MONOTONIC ns
	interrupted int    // interrupted attempts in a row, up to the last
}

// dumpers folds dumps into per-process figures.
type dumpers struct {
	byComm  map[string]*Dumper
	streaks map[streakKey]*streak
}

func newDumpers() *dumpers {
	return &dumpers{byComm: map[string]*Dumper{}, streaks: map[streakKey]*streak{}}
}

// dumpOutcome is what the figures need of one dump.
type dumpOutcome struct {
	dumper      Process
	netns       uint64
	kind        string
	start, end  uint64 // CLOCK_MONOTONIC ns
	interrupted bool
	explained   bool
	culprits    []string
}

// add folds one dump in, and says whether it was a retry and how many
// interrupted attempts in a row it makes.
func (ds *dumpers) add(o dumpOutcome) (retry bool, attempt int) {
	d := ds.dumper(o.dumper.Comm)
	if len(d.pids) < maxDumpers && !d.pids[o.dumper.PID] {
		d.pids[o.dumper.PID] = true
		d.Processes++
		d.PID = o.dumper.PID
	}
	d.Dumps++
	k := streakKey{o.dumper.PID, o.netns, o.kind}
	s := ds.streaks[k]
	if s == nil {
		s = &streak{}
		ds.streaks[k] = s
	}
	retry = s.interrupted > 0 && o.start >= s.end && o.start-s.end < uint64(retryGap)
	if retry {
		d.Retries++
	}
	switch {
	case !o.interrupted:
		s.interrupted = 0
	case retry:
		s.interrupted++
	default:
		s.interrupted = 1
	}
	s.end = max(s.end, o.end)
	d.LongestRun = max(d.LongestRun, s.interrupted)
	if o.interrupted {
		d.Interrupted++
		if o.explained {
			d.Explained++
		}
		for _, c := range o.culprits {
			if _, ok := d.culprits[c]; ok || len(d.culprits) < maxDumpers {
				d.culprits[c]++
			}
		}
	}
	return retry, s.interrupted
}

func (ds *dumpers) dumper(comm string) *Dumper {
	if d := ds.byComm[comm]; d != nil {
		return d
	}
	if len(ds.byComm) >= maxDumpers-1 { // and otherComm
		comm = otherComm
		if d := ds.byComm[comm]; d != nil {
			return d
		}
	}
	d := &Dumper{Comm: comm, pids: map[uint32]bool{}, culprits: map[string]int{}}
	ds.byComm[comm] = d
	return d
}

// forget drops the streaks whose last dump ended before cutoff: they
// cannot be retried any more, and short-lived processes would otherwise
// pile up.
func (ds *dumpers) forget(cutoff uint64) {
	for k, s := range ds.streaks {
		if s.end < cutoff {
			delete(ds.streaks, k)
		}
	}
}

// summary returns each process name's figures, most interrupted first,
// with its top culprits.
func (ds *dumpers) summary(top int) []Dumper {
	out := []Dumper{} // [] in JSON when nothing dumped
	for _, p := range ds.byComm {
		d := *p
		d.pids, d.culprits = nil, nil
		if d.Processes != 1 {
			d.PID = 0
		}
		d.Share = float64(d.Interrupted) / float64(d.Dumps)
		for c, n := range p.culprits {
			d.Culprits = append(d.Culprits, Culprit{c, n})
		}
		slices.SortFunc(d.Culprits, func(a, b Culprit) int { return cmp.Or(cmp.Compare(b.Dumps, a.Dumps), cmp.Compare(a.Comm, b.Comm)) })
		d.Culprits = d.Culprits[:min(top, len(d.Culprits))]
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Dumper) int {
		return cmp.Or(cmp.Compare(b.Interrupted, a.Interrupted), cmp.Compare(b.Dumps, a.Dumps), cmp.Compare(a.Comm, b.Comm))
	})
	return out
}
