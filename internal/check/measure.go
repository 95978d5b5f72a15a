package check

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nltrace/nltrace/internal/churn"
	"github.com/nltrace/nltrace/internal/correlate"
	"github.com/nltrace/nltrace/internal/report"
	"github.com/nltrace/nltrace/internal/repro"
	"github.com/nltrace/nltrace/internal/run"
	"github.com/nltrace/nltrace/nlclient"
)

// fact is what a measurement found for one check. skip, when set, says why
// the check could not be asked on this kernel.
type fact struct {
	value  int
	text   string
	skip   string
	sample string // the output of a run that shows the fact, if any
}

// facts maps check names to what one measurement found for them.
type facts map[string]fact

// Populations: big enough that a dump spans several chunks (about ten for
// links), small enough to populate in well under a second here and a few
// seconds under TCG.
const (
	checkLinks   = 200
	checkObjects = 1000 // addresses, nexthops
	injectDumps  = 3    // dumps per injected position: the position is deterministic
	// maxLostWindow bounds the positions tried from the end: the window is
	// 2 on every kernel measured, so 4 unflagged positions is already news.
	maxLostWindow = 4
)

func seen(n int) int {
	if n > 0 {
		return 1
	}
	return 0
}

// injectRun makes one change after chunk k of each of a few dumps of kind
// in a fresh namespace populated as ns says.
func injectRun(ctx context.Context, kind nlclient.Kind, ns churn.Config, k int) (*report.KindReport, error) {
	ns.Workers = 1
	rep, err := run.Run(ctx, run.Config{Kinds: []nlclient.Kind{kind}, Dumpers: 1, Dumps: injectDumps, Namespace: &ns, InjectAt: k}, run.Hooks{})
	if err != nil {
		return nil, err
	}
	kr := rep.Kinds[0]
	if kr.Inject == nil || kr.Inject.Made == 0 {
		return nil, fmt.Errorf("%v dumps of %d chunks: no change could be made after chunk %d", kind, kr.Chunks.Max, k)
	}
	return kr, nil
}

// measureInject finds where the flag lands (flag-position) and how many of
// the last data chunks can change unflagged (lost-window), on link dumps.
func measureInject(ctx context.Context, _ Features) (facts, error) {
	ns := churn.Config{Links: checkLinks}
	const at = 2
	kr, err := injectRun(ctx, nlclient.Link, ns, at)
	if err != nil {
		return nil, err
	}
	out := facts{}
	if len(kr.Flagged) == 0 {
		out["flag-position"] = fact{value: 0, text: fmt.Sprintf("a change after chunk %d was never flagged (%d dumps)", at, kr.Inject.Made)}
	} else {
		p := kr.Flagged[0] // most frequent first
		out["flag-position"] = fact{value: p.Chunk - at,
			text: fmt.Sprintf("a change after chunk %d flagged on chunk %d in %d of %d dumps", at, p.Chunk, p.Dumps, kr.Inject.Made)}
	}
	// The last chunk holds only NLMSG_DONE (nlclient's TestRootInterruptAtChunk).
	data := kr.Chunks.Max - 1
	lost := 0
	for lost < maxLostWindow && data-lost > at {
		kr, err := injectRun(ctx, nlclient.Link, ns, data-lost)
		if err != nil {
			return nil, err
		}
		if kr.Inject.Lost < kr.Inject.Made {
			break
		}
		lost++
	}
	text := fmt.Sprintf("a change after any of the last %d of %d data chunks went unflagged; after chunk %d it was flagged", lost, data, data-lost)
	if lost == maxLostWindow {
		text = fmt.Sprintf("changes after each of the last %d of %d data chunks went unflagged (stopped looking)", lost, data)
	}
	out["lost-window"] = fact{value: lost, text: text}
	return out, nil
}

// measurePositional adds one address after chunk 1 of a dump of a
// thousand addresses on one device: a positional cursor returns an
// address of chunk 1 again.
func measurePositional(kind nlclient.Kind) func(context.Context, Features) (facts, error) {
	return func(ctx context.Context, _ Features) (facts, error) {
		ns := churn.Config{Links: 1}
		if kind == nlclient.Addr4 {
			ns.Addrs = checkObjects
		} else {
			ns.Addrs6 = checkObjects
		}
		kr, err := injectRun(ctx, kind, ns, 1)
		if err != nil {
			return nil, err
		}
		c := kr.Consistency
		if c == nil {
			return nil, fmt.Errorf("%v dumps were not compared with the stable addresses", kind)
		}
		return facts{kind.String() + "/positional": {value: seen(c.Inconsistent),
			text: fmt.Sprintf("an address added after chunk 1: %d of %d dumps missed or repeated a stable one (%d repeated, %d missed)",
				c.Inconsistent, c.Checked, c.Repeated, c.Missing)}}, nil
	}
}

// churnFor is what each kind's churn run populates and changes. Routes
// follow addresses (each adds a local route); neighbours, which have no
// counter, churn neighbour entries next to the stable ones.
func churnFor(kind nlclient.Kind) churn.Config {
	ns := churn.Config{Links: checkLinks, Workers: 2, Mix: churn.MixFor([]nlclient.Kind{kind})}
	switch kind {
	case nlclient.Addr4, nlclient.Route4:
		ns.Links, ns.Addrs, ns.Mix = 10, checkObjects, churn.Mix{churn.Addr4Ops: 1}
	case nlclient.Addr6, nlclient.Route6:
		ns.Links, ns.Addrs6, ns.Mix = 10, checkObjects, churn.Mix{churn.Addr6Ops: 1}
	case nlclient.Nexthop:
		ns.Links, ns.Nexthops = 10, checkObjects
	case nlclient.Neigh:
		ns.Links, ns.Neighs, ns.Mix = 10, checkObjects, churn.Mix{churn.NeighOps: 1}
	}
	return ns
}

// measureChurn dumps kind while its counter moves, leniently, and checks
// every dump against the objects that existed throughout. On link dumps it
// also asks the kernel probe to explain each interruption.
func measureChurn(kind nlclient.Kind, d time.Duration) func(context.Context, Features) (facts, error) {
	return func(ctx context.Context, f Features) (facts, error) {
		name := kind.String()
		if kind == nlclient.Nexthop && !f.Nexthops {
			why := "this kernel has no nexthop objects (" + f.NexthopSource + ")"
			return facts{name + "/flagged": {skip: why}, name + "/unflagged": {skip: why}, name + "/stable-objects": {skip: why}}, nil
		}
		ns := churnFor(kind)
		cfg := run.Config{Kinds: []nlclient.Kind{kind}, Dumpers: 1, Duration: d, Namespace: &ns}
		if kind == nlclient.Link {
			cfg.Trace = run.Trace{Mode: run.TraceIfAvailable}
		}
		doneFlagged := 0
		rep, err := run.Run(ctx, cfg, run.Hooks{Dump: func(d repro.Dump) {
			if d.Result != nil && d.Result.DoneInterrupted {
				doneFlagged++
			}
		}})
		if err != nil {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		kr := rep.Kinds[0]
		if kr.Dumps == 0 {
			return nil, fmt.Errorf("no %s dump finished in %v", name, d)
		}
		out := facts{name + "/flagged": {value: seen(kr.Interrupted),
			text: fmt.Sprintf("%d of %d dumps flagged, %s churn", kr.Interrupted, kr.Dumps, mixWords(ns.Mix))}}
		if c := kr.Consistency; c != nil {
			out[name+"/unflagged"] = fact{value: seen(c.Unflagged),
				text: fmt.Sprintf("%d of %d wrong dumps carried no flag (%d dumps)", c.Unflagged, c.Inconsistent, kr.Dumps)}
			if c.Inconsistent == 0 {
				// "Never unflagged" would claim what was not tried.
				out[name+"/unflagged"] = fact{skip: fmt.Sprintf("none of %d dumps was wrong: no flag to miss", kr.Dumps)}
			}
			out[name+"/stable-objects"] = fact{value: seen(c.Missing + c.Repeated),
				text: fmt.Sprintf("%d stable objects missed and %d repeated over %d dumps", c.Missing, c.Repeated, c.Checked)}
		}
		if kind == nlclient.Link {
			out["link/done-flag"] = fact{value: seen(doneFlagged), text: fmt.Sprintf("NLMSG_DONE flagged in %d of %d dumps", doneFlagged, kr.Dumps)}
			out["attribution"] = attribution(rep)
		}
		return out, nil
	}
}

func mixWords(m churn.Mix) string {
	var ops []string
	for _, op := range churn.OpKinds() {
		if m[op] > 0 {
			ops = append(ops, op.String())
		}
	}
	return strings.Join(ops, "+")
}

// attribution is the share of interrupted link dumps the kernel's events
// explained, in percent.
func attribution(rep *report.Report) fact {
	a := rep.Trace
	switch {
	case a == nil:
		return fact{skip: "no kernel attribution was asked for"}
	case a.Unavailable != "":
		return fact{skip: "no backend attaches here: " + a.Unavailable}
	}
	i := slices.IndexFunc(a.Kinds, func(k correlate.KindAttribution) bool { return k.Kind == nlclient.Link })
	if i < 0 || a.Kinds[i].Interrupted == 0 {
		return fact{skip: "no link dump was interrupted: nothing to explain"}
	}
	k := a.Kinds[i]
	return fact{value: int(100 * k.Share()),
		text: fmt.Sprintf("%d of %d interrupted dumps explained (%s backend)", k.Explained, k.Interrupted, a.Backend)}
}
