package correlate

import (
	"cmp"
	"iter"
	"slices"
	"time"

	"github.com/nltrace/nltrace/probe"
)

// noteSlack is how long after a bump its notification may be received:
// the kernel sends it next to the bump, and the reader stamps it when it
// reads it, 20 ms later at most on a native host, hundreds of ms on a
// loaded emulated one with one CPU.
const noteSlack = 500 * time.Millisecond

// received returns up to n of the notified writers received in (from, to],
// oldest first: the changes the kernel made by itself that can account
// for bumps no request made (the tracepoint backend does not see them).
func received(ws iter.Seq[*probe.Writer], from, to uint64, n int) []*probe.Writer {
	var out []*probe.Writer
	for w := range ws {
		if w.Time > from && w.Time <= to {
			out = append(out, w)
		}
	}
	slices.SortStableFunc(out, func(a, b *probe.Writer) int { return cmp.Compare(a.Time, b.Time) })
	return out[:min(n, len(out))]
}
