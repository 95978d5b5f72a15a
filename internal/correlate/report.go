package correlate

import (
	"fmt"
	"io"

	"github.com/nltrace/nltrace/probe"
)

// Report is the kernel attribution of a run, for people and for JSON.
type Report struct {
	// Unavailable says why there is no attribution (the rest is empty).
	Unavailable string          `json:"unavailable,omitempty"`
	Backend     string          `json:"backend,omitempty"`
	Skipped     []probe.Skipped `json:"skipped,omitempty"`
	Drops       uint64          `json:"ring_buffer_drops"`
	Errors      []string        `json:"errors,omitempty"`
	Kinds       []Summary       `json:"kinds,omitempty"`
	// Dumps holds every interrupted dump, and every dump the kernel
	// disagrees with, with its explanation.
	Dumps []*Dump `json:"dumps,omitempty"`
}

// NewReport joins the results to the events and summarizes them.
func NewReport(dumps []*Dump, top int) *Report {
	r := &Report{Kinds: Summarize(dumps, top)}
	for _, d := range dumps {
		if d.Interrupted() || len(d.Mismatches) > 0 || d.Missing != "" {
			r.Dumps = append(r.Dumps, d)
		}
	}
	return r
}

// WriteText prints the attribution, to follow the rest of a report.
func (r *Report) WriteText(w io.Writer) error {
	p := &printer{w: w}
	if r.Unavailable != "" {
		p.f("\nkernel attribution unavailable: %s\n", r.Unavailable)
		return p.err
	}
	p.f("\nkernel attribution (%s backend; %d events dropped)\n", r.Backend, r.Drops)
	for _, s := range r.Kinds {
		p.f("  %-8v %d interrupted, %d explained (%.1f%%); lost flags seen by the kernel %d", s.Kind, s.Interrupted, s.Explained, 100*s.Share(), s.Lost)
		if s.Mismatched > 0 || s.Unmatched > 0 {
			p.f("; %d dumps disagree with the kernel, %d without samples", s.Mismatched, s.Unmatched)
		}
		p.f("\n")
		for _, c := range s.Culprits {
			p.f("           %v\n", c)
		}
	}
	if r.Drops > 0 {
		p.f("  the ring buffer overflowed: %d events lost, some dumps may be unexplained\n", r.Drops)
	}
	for _, s := range r.Skipped {
		p.f("  not observable on this kernel: %s (%s): %s\n", s.Lost, s.Symbol, s.Reason)
	}
	for _, e := range r.Errors {
		p.f("  error: %s\n", e)
	}
	return p.err
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}
