package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/nltrace/nltrace/internal/correlate"
)

// WriteJSON writes the report as one JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for people: what was asked, a table of the
// dumps, then what each part of the run found.
func (r *Report) WriteText(w io.Writer) error {
	p := &printer{w: w}
	p.setup(r)
	p.table(r.Kinds)
	for _, k := range r.Kinds {
		p.kind(k)
	}
	if r.Churn != nil {
		p.churn(r.Churn)
	}
	if r.Exec != nil {
		p.exec(r.Exec)
	}
	if r.Trace != nil {
		p.trace(r.Trace)
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

func (p *printer) setup(r *Report) {
	s := r.Setup
	ns := s.NetNS
	if ns == "" {
		ns = "the current one"
	}
	p.f("nltrace dump: kernel %s, netns %s", s.Kernel, ns)
	if s.OwnNamespace {
		p.f(", %d %s links", s.Links, s.LinkKind)
		if s.Addrs+s.Addrs6+s.Nexthops > 0 {
			p.f(", %d IPv4 and %d IPv6 addresses, %d nexthops", s.Addrs, s.Addrs6, s.Nexthops)
		}
	}
	p.f("\n%d dumpers, policy %v", s.Dumpers, s.Policy)
	if s.Retries > 0 {
		p.f(" (at most %d attempts)", s.Retries)
	}
	p.f(", %.1f s", r.Elapsed)
	if r.Stopped != "" {
		p.f(" (stopped early: %s)", r.Stopped)
	}
	p.f("\n")
}

// table is one line per kind: the figures every run has.
func (p *printer) table(kinds []*KindReport) {
	if len(kinds) == 0 || p.err != nil {
		return
	}
	p.f("\n")
	tw := tabwriter.NewWriter(p.w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "KIND\tDUMPS\tOBJECTS\tCHUNKS\tINTERRUPTED\tATTEMPTS\tTIME/ATTEMPT\t")
	for _, k := range kinds {
		if k.Dumps == 0 {
			continue
		}
		share := 0.0
		if k.Attempts > 0 {
			share = 100 * float64(k.InterruptedAttempts) / float64(k.Attempts)
		}
		fmt.Fprintf(tw, "%v\t%d\t%.1f\t%.1f\t%d (%.1f%%)\t%d\t%.3f ms\t\n", k.Kind, k.Dumps, k.Objects.Mean, k.Chunks.Mean,
			k.InterruptedAttempts, share, k.Attempts, 1000*k.AttemptTime)
	}
	p.err = tw.Flush()
}

// kind prints what the table cannot hold, for the kinds that have it.
func (p *printer) kind(k *KindReport) {
	if k.Dumps == 0 || k.Interrupted == 0 && k.Retry == nil && k.Consistency == nil && k.Inject == nil {
		return
	}
	p.f("\n%v dumps", k.Kind)
	if k.Stable > 0 {
		p.f(" (%d stable objects)", k.Stable)
	}
	p.f("\n")
	p.f("  interrupted        %d of %d (%.1f%%) on the first attempt\n", k.Interrupted, k.Dumps, 100*k.InterruptedShare)
	if k.Interrupted > 0 {
		p.f("  flag landed on     %s; NLMSG_DONE only: %d\n", positionList(k.Flagged, 8), k.DoneOnly)
	}
	if k.FirstInterrupt != nil {
		p.f("  first interrupted  after %.3f s (dump %d)\n", *k.FirstInterrupt, k.DumpsToFirstInterrupt)
	}
	if rr := k.Retry; rr != nil {
		p.f("  attempts           p50 %d, p99 %d, max %d (%d consistent, %d gave up)\n", rr.P50, rr.P99, rr.Max, rr.Consistent, rr.GaveUp)
		if rr.Budget999Reached {
			p.f("  99.9%% budget       %d attempts\n", rr.Budget999)
		} else {
			p.f("  99.9%% budget       not reached within the attempts allowed\n")
		}
	}
	if c := k.Consistency; c != nil {
		p.f("  inconsistent       %d of %d dumps (%d stable objects missed, %d repeated; %d dumps without the flag)\n",
			c.Inconsistent, c.Checked, c.Missing, c.Repeated, c.Unflagged)
		if c.Expected != "" {
			p.f("                     %s\n", c.Expected)
		}
	}
	if in := k.Inject; in != nil {
		p.f("  injected change    after chunk %d: made in %d dumps, flagged in %d, lost in %d", in.At, in.Made, in.Flagged, in.Lost)
		if in.NotMade > 0 {
			p.f(", not made in %d (no more than %d chunks)", in.NotMade, in.At)
		}
		p.f("\n")
		if in.Lost > 0 {
			p.f("                     lost: a change was made and the dump did not show it (the kernel's lost window)\n")
		}
	}
}

func positionList(ps []Position, n int) string {
	var parts []string
	rest := 0
	for i, pos := range ps {
		if i >= n {
			rest += pos.Dumps
			continue
		}
		parts = append(parts, fmt.Sprintf("chunk %d x%d", pos.Chunk, pos.Dumps))
	}
	if rest > 0 {
		parts = append(parts, fmt.Sprintf("others x%d", rest))
	}
	if len(parts) == 0 {
		return "no data chunk"
	}
	return strings.Join(parts, ", ")
}

func (p *printer) churn(c *ChurnReport) {
	p.f("\nchurn: %d workers, mix %s", c.Workers, c.Mix)
	if c.Rate > 0 {
		p.f(", target %.0f op/s", c.Rate)
	}
	p.f(", %.1f s\n", c.Seconds)
	for _, o := range c.Ops {
		if o.Count > 0 {
			p.f("  %-8s %10.1f op/s (%d)\n", o.Kind, o.PerSecond, o.Count)
		}
	}
	if c.Errors > 0 {
		p.f("  failed operations: %d\n", c.Errors)
	}
}

func (p *printer) exec(e *ExecReport) {
	p.f("\nexec %s: %d runs, %d failed", strings.Join(e.Command, " "), e.Runs, e.Failed)
	if e.CutShort > 0 {
		p.f(", %d cut short by the end of the run", e.CutShort)
	}
	p.f("\n")
	for _, s := range e.Statuses {
		p.f("  %-52s %d\n", s.Label, s.Runs)
	}
	for _, s := range e.Symptoms {
		p.f("  output %-45q %d\n", s.Label, s.Runs)
	}
}

func (p *printer) trace(a *correlate.Attribution) {
	if a.Unavailable != "" {
		p.f("\nkernel attribution unavailable: %s\n", a.Unavailable)
		return
	}
	p.f("\nkernel attribution (%s backend; %d events dropped)\n", a.Backend, a.Drops)
	for _, s := range a.Kinds {
		p.f("  %-8v %d interrupted, %d explained (%.1f%%); lost flags seen by the kernel %d", s.Kind, s.Interrupted, s.Explained, 100*s.Share(), s.Lost)
		if s.Mismatched > 0 || s.Unmatched > 0 {
			p.f("; %d dumps disagree with the kernel, %d without samples", s.Mismatched, s.Unmatched)
		}
		p.f("\n")
		for _, c := range s.Culprits {
			p.f("           %v\n", c)
		}
	}
	if a.Drops > 0 {
		p.f("  the ring buffer overflowed: %d events lost, some dumps may be unexplained\n", a.Drops)
	}
	if a.OmittedDumps > 0 {
		p.f("  %d more interrupted or disagreeing dumps are counted above but not listed (--json lists the first %d)\n", a.OmittedDumps, len(a.Dumps))
	}
	if a.DroppedSamples > 0 || a.DroppedWriters > 0 {
		p.f("  overloaded: %d chunk samples and %d writer events dropped before they could be joined; some dumps may be unexplained\n", a.DroppedSamples, a.DroppedWriters)
	}
	for _, s := range a.Skipped {
		p.f("  not observable on this kernel: %s (%s): %s\n", s.Lost, s.Symbol, s.Reason)
	}
	for _, l := range a.Limits {
		p.f("  not seen by the %s backend: %s\n", a.Backend, l)
	}
	for _, e := range a.Errors {
		p.f("  error: %s\n", e)
	}
}
