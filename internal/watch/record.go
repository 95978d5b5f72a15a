package watch

import (
	"fmt"
	"strings"
	"time"

	"github.com/nltrace/nltrace/internal/correlate"
	"github.com/nltrace/nltrace/probe"
)

// Process names a task: the dumper, or a writer.
type Process struct {
	PID  uint32 `json:"pid"`
	TID  uint32 `json:"tid"`
	Comm string `json:"comm"`
}

func (p Process) String() string { return fmt.Sprintf("%s[%d]", p.Comm, p.PID) }

// Interrupted is the record of one interrupted dump ("type":
// "interrupted").
type Interrupted struct {
	Type   string    `json:"type"`
	Time   time.Time `json:"time"` // when the first flagged chunk was built
	Dumper Process   `json:"dumper"`
	NetNS  uint64    `json:"netns"`
	Kind   string    `json:"kind"`
	PortID uint32    `json:"port_id"`
	Seq    uint32    `json:"seq"`
	Chunks int       `json:"chunks"` // chunks seen, NLMSG_DONE included
	// Retry is set when the same process started this dump, of the same
	// kind and namespace, right after an interrupted one; Attempt counts
	// the interrupted attempts in a row, this one included.
	Retry     bool `json:"retry"`
	Attempt   int  `json:"attempt"`
	Explained bool `json:"explained"`
	// Interruptions explains each flagged chunk: the counters that moved
	// and the writers that moved them.
	Interruptions []*correlate.Interruption `json:"interruptions"`
	// Note says why the dump could not be followed chunk by chunk (events
	// dropped, nltrace started mid-dump).
	Note string `json:"note,omitempty"`
}

// Overload is the record of events lost since the last one ("type":
// "overload"): the dumps they belonged to may be unexplained or missed.
type Overload struct {
	Type string    `json:"type"`
	Time time.Time `json:"time"`
	// RingBuffer counts kernel events the ring buffer had no room for
	// (and notification overruns of the tracepoint backend); Samples and
	// Writers, events the join had to drop to stay within its bounds.
	RingBuffer uint64 `json:"ring_buffer"`
	Samples    int    `json:"samples"`
	Writers    int    `json:"writers"`
}

func (o *Overload) String() string {
	return fmt.Sprintf("%s overload: %d kernel events lost, %d chunk samples and %d writer events dropped by the join; dumps may go unreported or unexplained",
		o.Time.Format("15:04:05.000"), o.RingBuffer, o.Samples, o.Writers)
}

// Warning is the record of something the watch cannot see ("type":
// "warning"): a namespace the tracepoint backend could not listen in,
// whose changes then go unexplained.
type Warning struct {
	Type    string    `json:"type"`
	Time    time.Time `json:"time"`
	Message string    `json:"message"`
}

func (w *Warning) String() string { return w.Time.Format("15:04:05.000") + " " + w.Message }

// String is the record's line: when, who, where, which chunk, which
// counter moved and who moved it.
func (r *Interrupted) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s netns %d %s dump interrupted", r.Time.Format("15:04:05.000"), r.Dumper, r.NetNS, r.Kind)
	if r.Attempt > 1 {
		fmt.Fprintf(&b, " (attempt %d in a row)", r.Attempt)
	}
	for i, in := range r.Interruptions {
		if i > 0 {
			b.WriteString("; and")
		}
		b.WriteString(" " + describe(in))
	}
	if len(r.Interruptions) == 0 && r.Note != "" {
		b.WriteString(": " + r.Note)
	}
	return b.String()
}

// describe says where one flag was and what caused it.
func describe(in *correlate.Interruption) string {
	var b strings.Builder
	switch {
	case in.Done:
		b.WriteString("at NLMSG_DONE")
	case in.Chunk > 0:
		fmt.Fprintf(&b, "at chunk %d", in.Chunk)
	default:
		b.WriteString("at a chunk")
	}
	var moves []string
	for _, m := range in.Moves {
		moves = append(moves, fmt.Sprintf("%s +%d", m.Counter, m.Delta()))
	}
	if len(moves) > 0 {
		b.WriteString(": " + strings.Join(moves, ", "))
	}
	switch {
	case len(in.Writers) > 0:
		b.WriteString(" by " + byWriter(in.Writers))
	case len(in.Moves) > 0:
		// The JSON record keeps the note (hook skipped, events lost).
		b.WriteString(" by a writer not seen")
	case in.Note != "":
		b.WriteString(" (" + in.Note + ")")
	}
	return b.String()
}

// byWriter lists the writers' changes grouped by who made them, in the
// order they first appear: "ip[3301] (register veth3f2a, unregister
// veth9c01), kernel worker kworker/0:1 (addr6-new ...)".
func byWriter(ws []*probe.Writer) string {
	var order []string
	changes := map[string][]string{}
	for _, w := range ws {
		who := writerName(w)
		if _, ok := changes[who]; !ok {
			order = append(order, who)
		}
		what := w.Op.String()
		if sub := w.Subject(); sub != "" {
			what += " " + sub
		}
		changes[who] = append(changes[who], what)
	}
	parts := make([]string, len(order))
	for i, who := range order {
		parts[i] = fmt.Sprintf("%s (%s)", who, strings.Join(changes[who], ", "))
	}
	return strings.Join(parts, ", ")
}

// writerName names who made a change, for a line.
func writerName(w *probe.Writer) string {
	switch {
	case w.Notified:
		return "the kernel"
	case w.Worker:
		return "kernel worker " + w.Comm
	case w.Interrupt():
		return "interrupt"
	}
	return fmt.Sprintf("%s[%d]", w.Comm, w.PID)
}

// culpritName names who made a change, for figures and metric labels:
// the process name, without its id, so that their number stays bounded.
func culpritName(w *probe.Writer) string {
	switch {
	case w.Notified:
		return "kernel"
	case w.Worker:
		return "kernel worker"
	case w.Interrupt():
		return "interrupt"
	}
	return w.Comm
}
