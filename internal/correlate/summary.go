package correlate

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

// KindAttribution is one kind's attribution figures.
type KindAttribution struct {
	Kind        nlclient.Kind `json:"kind"`
	Dumps       int           `json:"dumps"`
	Interrupted int           `json:"interrupted"`
	Explained   int           `json:"explained"`
	// Lost counts chunks where the kernel saw a counter move and no
	// message could carry the flag.
	Lost int `json:"lost_flags"`
	// Mismatched counts dumps whose kernel flags differ from what
	// userspace received; Unmatched dumps had no usable samples.
	Mismatched int       `json:"mismatched"`
	Unmatched  int       `json:"unmatched"`
	Culprits   []Culprit `json:"culprits,omitempty"`
}

// Share is the fraction of interrupted dumps explained (1 when none was
// interrupted).
func (s KindAttribution) Share() float64 {
	if s.Interrupted == 0 {
		return 1
	}
	return float64(s.Explained) / float64(s.Interrupted)
}

// Culprit is one (operation, device, process) and how many interruptions
// it took part in.
type Culprit struct {
	Op      probe.Op `json:"op"`
	Subject string   `json:"subject"`
	Process string   `json:"process"`
	Count   int      `json:"count"`
}

func (c Culprit) String() string {
	s := c.Op.String()
	if c.Subject != "" {
		s += " " + c.Subject
	}
	return fmt.Sprintf("%s by %s (%d)", s, c.Process, c.Count)
}

// Summarize aggregates dumps per kind, in nlclient.Kinds order, keeping
// the top culprits of each.
func Summarize(dumps []*Dump, top int) []KindAttribution {
	var t tally
	for _, d := range dumps {
		t.add(d)
	}
	return t.kinds(top)
}

// tally folds dumps into per-kind figures one at a time, so that a long
// run's summary does not need its dumps.
type tally struct {
	byKind map[nlclient.Kind]*KindAttribution
	counts map[nlclient.Kind]map[Culprit]int
}

func (t *tally) add(d *Dump) {
	if t.byKind == nil {
		t.byKind, t.counts = map[nlclient.Kind]*KindAttribution{}, map[nlclient.Kind]map[Culprit]int{}
	}
	s := t.byKind[d.Kind]
	if s == nil {
		s = &KindAttribution{Kind: d.Kind}
		t.byKind[d.Kind] = s
		t.counts[d.Kind] = map[Culprit]int{}
	}
	s.Dumps++
	s.Lost += d.Lost
	if len(d.Mismatches) > 0 {
		s.Mismatched++
	}
	if d.Missing != "" {
		s.Unmatched++
	}
	if !d.Interrupted() {
		return
	}
	s.Interrupted++
	if d.Explained() {
		s.Explained++
	}
	seen := map[Culprit]bool{}
	for _, in := range d.Interruptions {
		for _, w := range in.Writers {
			c := culpritOf(w)
			if !seen[c] {
				seen[c] = true
				t.counts[d.Kind][c]++
			}
		}
	}
}

// kinds returns the figures so far; the tally goes on.
func (t *tally) kinds(top int) []KindAttribution {
	var out []KindAttribution
	for _, k := range nlclient.Kinds {
		p := t.byKind[k]
		if p == nil {
			continue
		}
		s := *p
		for c, n := range t.counts[k] {
			c.Count = n
			s.Culprits = append(s.Culprits, c)
		}
		slices.SortFunc(s.Culprits, func(a, b Culprit) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Op, b.Op), cmp.Compare(a.Subject, b.Subject), cmp.Compare(a.Process, b.Process))
		})
		if len(s.Culprits) > top {
			s.Culprits = s.Culprits[:top]
		}
		out = append(out, s)
	}
	return out
}

func culpritOf(w *probe.Writer) Culprit {
	proc := w.Comm
	switch {
	case w.Notified:
		proc = "the kernel itself (notified)"
	case w.Worker:
		proc = "kernel worker"
	case w.Interrupt():
		proc = "interrupt (over " + proc + ")"
	}
	return Culprit{Op: w.Op, Subject: w.Subject(), Process: proc}
}
