package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteJSON writes the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) error {
	p := &printer{w: w}
	s := r.Setup
	p.f("nltrace dump: kernel %s, netns %s, %d %s links", s.Kernel, s.NetNS, s.Links, s.LinkKind)
	if s.Addrs+s.Addrs6+s.Nexthops > 0 {
		p.f(", %d IPv4 and %d IPv6 addresses, %d nexthops", s.Addrs, s.Addrs6, s.Nexthops)
	}
	p.f("\n%d dumpers, policy %v", s.Dumpers, s.Policy)
	if s.Policy.String() == "retry" {
		p.f(" (at most %d attempts)", s.Retries)
	}
	p.f(", %.1f s", r.Elapsed)
	if r.Stopped != "" {
		p.f(" (stopped early: %s)", r.Stopped)
	}
	p.f("\n")
	for _, k := range r.Kinds {
		p.kind(k)
	}
	if r.Churn != nil {
		p.churn(r.Churn)
	}
	if r.Exec != nil {
		p.exec(r.Exec)
	}
	if r.Trace != nil && p.err == nil {
		p.err = r.Trace.WriteText(w)
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

func (p *printer) kind(k *KindReport) {
	p.f("\n%v dumps", k.Kind)
	if k.Stable > 0 {
		p.f(" (%d stable objects)", k.Stable)
	}
	p.f("\n")
	p.f("  dumps              %d\n", k.Dumps)
	if k.Dumps == 0 {
		return
	}
	p.f("  interrupted        %d (%.1f%%)\n", k.Interrupted, 100*k.InterruptedShare)
	if k.Interrupted > 0 {
		p.f("  flag landed on     %s; NLMSG_DONE only: %d\n", positionList(k.Flagged, 8), k.DoneOnly)
	}
	p.f("  chunks per dump    %.1f (min %d, max %d)\n", k.Chunks.Mean, k.Chunks.Min, k.Chunks.Max)
	p.f("  objects per dump   %.1f (min %d, max %d)\n", k.Objects.Mean, k.Objects.Min, k.Objects.Max)
	if k.FirstInterrupt != nil {
		p.f("  first interrupted  after %.3f s (dump %d)\n", *k.FirstInterrupt, k.DumpsToFirstInterrupt)
	} else {
		p.f("  first interrupted  never\n")
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
		where := fmt.Sprintf("chunk %d", pos.Chunk)
		parts = append(parts, fmt.Sprintf("%s x%d", where, pos.Dumps))
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
	p.f("\nexec %s: %d runs, %d failed\n", strings.Join(e.Command, " "), e.Runs, e.Failed)
	for _, s := range e.Statuses {
		p.f("  %-52s %d\n", s.Label, s.Runs)
	}
	for _, s := range e.Symptoms {
		p.f("  output %-45q %d\n", s.Label, s.Runs)
	}
}
