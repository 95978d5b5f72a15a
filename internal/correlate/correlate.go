package correlate

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

// Dump is one userspace dump attempt with the kernel's view of it.
type Dump struct {
	Result *nlclient.Result `json:"-"`
	Kind   nlclient.Kind    `json:"kind"`
	NetNS  uint64           `json:"netns"`
	PortID uint32           `json:"port_id"`
	Seq    uint32           `json:"seq"`
	// Samples are the kernel's chunk samples of this dump, in order (nil
	// in the dumps a Joiner lists: it releases them once joined).
	Samples []*probe.Sample `json:"-"`
	// Mismatches lists chunks whose flag differs between the kernel's
	// sample and what userspace received; Missing says why samples could
	// not be matched at all (events dropped, probe attached mid-dump).
	Mismatches []string `json:"mismatches,omitempty"`
	Missing    string   `json:"missing,omitempty"`
	// Lost counts chunks where the kernel saw the counter move but had no
	// message to flag.
	Lost int `json:"lost,omitempty"`
	// Interruptions explains each flagged chunk (NLMSG_DONE included).
	Interruptions []*Interruption `json:"interruptions,omitempty"`
}

// Interrupted reports whether userspace saw the dump flagged.
func (d *Dump) Interrupted() bool { return d.Result.Interrupted() }

// Explained reports whether every flag userspace saw has a writer event.
func (d *Dump) Explained() bool {
	if !d.Interrupted() || len(d.Interruptions) == 0 {
		return false
	}
	for _, in := range d.Interruptions {
		if len(in.Writers) == 0 {
			return false
		}
	}
	return true
}

// Move is one counter's change between two chunk samples.
type Move struct {
	Counter probe.Counter `json:"counter"`
	From    uint32        `json:"from"`
	To      uint32        `json:"to"`
}

// Delta is how many times the counter was bumped.
func (m Move) Delta() uint32 { return m.To - m.From }

// Interruption is one flagged chunk and what flagged it.
type Interruption struct {
	// Chunk is the flagged chunk's 1-based index as userspace numbers
	// them; Done marks a flagged NLMSG_DONE instead. After is the chunk
	// the counters are compared with.
	Chunk int  `json:"chunk"`
	After int  `json:"after"`
	Done  bool `json:"done,omitempty"`
	// Late is set when the bump happened while chunk After was being
	// built (RCU dumps, 6.9+ addresses) and was reported one chunk late.
	Late    bool            `json:"late,omitempty"`
	Moves   []Move          `json:"moves"`
	Writers []*probe.Writer `json:"writers"`
	Note    string          `json:"note,omitempty"`
}

func (in *Interruption) String() string {
	where := fmt.Sprintf("chunk %d", in.Chunk)
	if in.Done {
		where = "NLMSG_DONE"
	}
	s := fmt.Sprintf("%s flagged (after chunk %d):", where, in.After)
	for _, m := range in.Moves {
		s += fmt.Sprintf(" %s %d->%d (+%d)", m.Counter, m.From, m.To, m.Delta())
	}
	for _, w := range in.Writers {
		s += "; " + w.String()
	}
	if in.Note != "" {
		s += "; " + in.Note
	}
	return s
}

// Counters returns the generation counters a dump of kind k puts in
// cb->seq.
func Counters(k nlclient.Kind) []probe.Counter {
	switch k {
	case nlclient.Link, nlclient.Stats:
		return []probe.Counter{probe.DevBaseSeq}
	case nlclient.Addr4:
		return []probe.Counter{probe.AddrGenID4, probe.DevBaseSeq}
	case nlclient.Addr6:
		return []probe.Counter{probe.AddrGenID6, probe.DevBaseSeq}
	case nlclient.Nexthop:
		return []probe.Counter{probe.NexthopSeq}
	}
	return []probe.Counter{probe.DevBaseSeq, probe.AddrGenID4, probe.AddrGenID6, probe.NexthopSeq}
}

// Join matches every result (and its earlier attempts) to its samples
// and explains its flags. Events may come in any order.
func Join(results []*nlclient.Result, chunks []*probe.Sample, writers []*probe.Writer) []*Dump {
	byKey := map[probe.DumpKey][]*probe.Sample{}
	for _, c := range chunks {
		byKey[c.DumpKey()] = append(byKey[c.DumpKey()], c)
	}
	idx := newWriterIndex(writers)
	var dumps []*Dump
	for _, r := range flatten(results) {
		key := probe.DumpKey{NetNS: r.NetNSInode, PortID: r.PortID, Seq: r.Seq}
		samples := slices.Clone(byKey[key])
		slices.SortStableFunc(samples, func(a, b *probe.Sample) int { return cmp.Compare(a.Start, b.Start) })
		d := &Dump{Result: r, Kind: r.Kind, NetNS: key.NetNS, PortID: key.PortID, Seq: key.Seq, Samples: samples}
		d.join(idx)
		dumps = append(dumps, d)
	}
	return dumps
}

// flatten lists each result's earlier attempts before it.
func flatten(results []*nlclient.Result) []*nlclient.Result {
	var out []*nlclient.Result
	for _, r := range results {
		if r == nil {
			continue
		}
		out = append(out, flatten(r.Earlier)...)
		out = append(out, r)
	}
	return out
}

func (d *Dump) join(idx writerLookup) {
	for _, s := range d.Samples {
		if s.Lost {
			d.Lost++
		}
	}
	// Userspace chunks that carry data match, in order, the samples whose
	// handler filled the skb; NLMSG_DONE alone comes from a last, empty
	// call (or from no call at all when the handler ended in a full skb).
	var data []*probe.Sample
	for _, s := range d.Samples {
		if s.Bytes > 0 {
			data = append(data, s)
		}
	}
	var user []nlclient.Chunk
	for _, c := range d.Result.Chunks {
		if !(c.Done && c.Messages == 1) {
			user = append(user, c)
		}
	}
	if len(data) != len(user) {
		d.Missing = fmt.Sprintf("kernel recorded %d chunks with data, userspace read %d (events dropped, or the probe started mid-dump)", len(data), len(user))
		d.explainUnaligned(idx, data)
		return
	}
	for i := range data {
		if data[i].Flagged != user[i].Interrupted {
			d.Mismatches = append(d.Mismatches, fmt.Sprintf("chunk %d: kernel flagged=%v, userspace interrupted=%v", user[i].Index, data[i].Flagged, user[i].Interrupted))
		}
	}
	if !d.Interrupted() {
		return
	}
	counters := Counters(d.Kind)
	for i := range data {
		if user[i].Interrupted {
			d.Interruptions = append(d.Interruptions, explain(idx, counters, data, i, user[i].Index))
		}
	}
	if d.Result.DoneInterrupted && len(data) > 0 {
		last := d.Samples[len(d.Samples)-1]
		in := explainPair(idx, counters, data, len(data)-1, last)
		in.Chunk, in.After, in.Done = len(d.Result.Chunks), len(data), true
		d.Interruptions = append(d.Interruptions, in)
	}
}

// explainUnaligned explains the chunks the kernel flagged when samples
// and datagrams cannot be paired one to one: the kernel's flag is the
// ground truth, and its predecessor sample is still known unless it was
// lost too. Chunk numbers are then unknown (0).
func (d *Dump) explainUnaligned(idx writerLookup, data []*probe.Sample) {
	if !d.Interrupted() {
		return
	}
	counters := Counters(d.Kind)
	for i, s := range data {
		if !s.Flagged {
			continue
		}
		if i == 0 {
			d.Interruptions = append(d.Interruptions, &Interruption{Note: "flagged chunk's predecessor not recorded: " + d.Missing})
			continue
		}
		in := explainPair(idx, counters, data, i-1, s)
		in.Note = strings.TrimPrefix(in.Note+"; chunk numbers unknown: "+d.Missing, "; ")
		d.Interruptions = append(d.Interruptions, in)
	}
	if len(d.Interruptions) == 0 {
		d.Interruptions = append(d.Interruptions, &Interruption{Note: "no kernel samples to explain the flag: " + d.Missing})
	}
}

// explain accounts for the flag on data[i] (userspace chunk number
// chunk): the counters moved between the previous chunk and this one.
func explain(idx writerLookup, counters []probe.Counter, data []*probe.Sample, i, chunk int) *Interruption {
	if i == 0 {
		return &Interruption{Chunk: chunk, Note: "first chunk flagged: the kernel never flags it (samples out of step?)"}
	}
	in := explainPair(idx, counters, data, i-1, data[i])
	in.Chunk, in.After = chunk, chunk-1
	return in
}

// explainPair finds the writers between data[prev]'s and cur's counter
// snapshots; when there are none, the bump may have landed while
// data[prev] was built, after it read its counter (RCU dumps): then the
// window starts one chunk earlier.
func explainPair(idx writerLookup, counters []probe.Counter, data []*probe.Sample, prev int, cur *probe.Sample) *Interruption {
	in := &Interruption{}
	in.Moves, in.Writers = window(idx, counters, data[prev], cur)
	if len(in.Writers) == 0 && prev > 0 {
		moves, writers := window(idx, counters, data[prev-1], cur)
		if len(writers) > 0 {
			in.Moves, in.Writers, in.Late = moves, writers, true
		}
	}
	switch {
	case len(in.Moves) == 0:
		in.Note = "no counter moved between the two samples"
	case len(in.Writers) == 0:
		in.Note = "counter moved but no writer event recorded (hook skipped on this kernel, or events dropped)"
	}
	return in
}

func window(idx writerLookup, counters []probe.Counter, from, to *probe.Sample) ([]Move, []*probe.Writer) {
	var moves []Move
	var writers []*probe.Writer
	for _, c := range counters {
		m := Move{Counter: c, From: from.Counters.Get(c), To: to.Counters.Get(c)}
		if m.From == m.To {
			continue
		}
		moves = append(moves, m)
		found := idx.between(to.NetNS, c, m.From, m.To)
		if missing := int(m.Delta()) - len(found); missing > 0 {
			found = append(found, idx.notified(to.NetNS, c, from.Start, to.End+uint64(noteSlack), missing)...)
		}
		writers = append(writers, found...)
	}
	return moves, writers
}

// writerLookup finds the writers of a counter in a namespace whose bump
// took it from a value in [from, to), with wrap-around, ordered by that
// value, then by time.
type writerLookup interface {
	between(netns uint64, c probe.Counter, from, to uint32) []*probe.Writer
	// notified finds up to n changes the kernel made by itself, known
	// from notifications without their counter's value (Writer.Notified),
	// received in (from, to] (CLOCK_MONOTONIC ns), oldest first.
	notified(netns uint64, c probe.Counter, from, to uint64, n int) []*probe.Writer
}

// writerIndex holds a run's writers by namespace and counter; notified
// writers under the counter's key with notifiedKey set.
type writerIndex map[indexKey][]*probe.Writer

type indexKey struct {
	netns    uint64
	counter  probe.Counter
	notified bool // writers known only from notifications
}

func newWriterIndex(writers []*probe.Writer) writerIndex {
	idx := writerIndex{}
	for _, w := range writers {
		k := indexKey{netns: w.NetNS, counter: w.Counter, notified: w.Notified}
		idx[k] = append(idx[k], w)
	}
	return idx
}

func (idx writerIndex) notified(netns uint64, c probe.Counter, from, to uint64, n int) []*probe.Writer {
	return received(slices.Values(idx[indexKey{netns: netns, counter: c, notified: true}]), from, to, n)
}

func (idx writerIndex) between(netns uint64, c probe.Counter, from, to uint32) []*probe.Writer {
	var out []*probe.Writer
	for _, w := range idx[indexKey{netns: netns, counter: c}] {
		if inWindow(w, from, to) {
			out = append(out, w)
		}
	}
	sortWindow(out, from)
	return out
}

func inWindow(w *probe.Writer, from, to uint32) bool { return w.Before-from < to-from }

// sortWindow orders a window's writers by the value they bumped, then by
// time; ties keep the order they came in, so that a streaming join and a
// batch join of the same events agree.
func sortWindow(ws []*probe.Writer, from uint32) {
	slices.SortStableFunc(ws, func(a, b *probe.Writer) int {
		return cmp.Or(cmp.Compare(a.Before-from, b.Before-from), cmp.Compare(a.Time, b.Time))
	})
}
