package correlate

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

const (
	ns    = 4026532000
	other = 4026532999
	port  = 77
	seq   = 5
)

// linkDump builds a userspace result of n data chunks and a separate
// NLMSG_DONE, flagged on the given chunks (1-based).
func linkDump(n int, flagged ...int) *nlclient.Result {
	r := &nlclient.Result{Kind: nlclient.Link, NetNSInode: ns, PortID: port, Seq: seq}
	for i := 1; i <= n; i++ {
		c := nlclient.Chunk{Index: i, Messages: 10, Bytes: 10000, Flags: 2}
		if slices.Contains(flagged, i) {
			c.Interrupted, c.Flags = true, 2|0x10
			if r.FirstInterrupted == 0 {
				r.FirstInterrupted = i
			}
		}
		r.Chunks = append(r.Chunks, c)
	}
	r.Chunks = append(r.Chunks, nlclient.Chunk{Index: n + 1, Messages: 1, Bytes: 20, Done: true})
	return r
}

// samples builds the kernel's view: one sample per data chunk with
// dev_base_seq after its handler, then an empty final call.
func samples(seqs ...uint32) []*probe.Sample {
	var out []*probe.Sample
	prev := uint32(0)
	for i, s := range seqs {
		c := &probe.Sample{Start: uint64(100 * (i + 1)), NetNS: ns, PortID: port, Seq: seq, Handler: "rtnl_dump_ifinfo",
			PrevSeqBefore: prev, SeqAfter: s, PrevSeqAfter: s, Counters: probe.Counters{DevBaseSeq: s}, Bytes: 10000, Ret: 10000}
		c.Flagged = prev != 0 && s != prev
		prev = s
		out = append(out, c)
	}
	out = append(out, &probe.Sample{Start: uint64(100 * (len(seqs) + 1)), NetNS: ns, PortID: port, Seq: seq,
		PrevSeqBefore: prev, SeqAfter: prev, Counters: probe.Counters{DevBaseSeq: prev}, Done: true})
	return out
}

func register(name string, before uint32, netns uint64) *probe.Writer {
	return &probe.Writer{Time: uint64(before), Op: probe.Register, Counter: probe.DevBaseSeq, Before: before, NetNS: netns, Ifname: name, Comm: "ip", PID: 42}
}

func names(ws []*probe.Writer) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.Ifname)
	}
	return out
}

func TestJoin(t *testing.T) {
	tests := []struct {
		name    string
		result  *nlclient.Result
		chunks  []*probe.Sample
		writers []*probe.Writer
		shuffle bool
		// want
		explained bool
		chunk     int // of the first interruption
		after     int
		late      bool
		culprits  []string
		moves     []Move
		missing   bool
		note      string
	}{{
		name:   "in order",
		result: linkDump(4, 3), chunks: samples(10, 10, 11, 11),
		writers:   []*probe.Writer{register("x", 10, ns), register("elsewhere", 10, other), register("before", 9, ns), register("after", 11, ns)},
		explained: true, chunk: 3, after: 2, culprits: []string{"x"},
		moves: []Move{{probe.DevBaseSeq, 10, 11}},
	}, {
		name:   "out of order",
		result: linkDump(4, 3), chunks: samples(10, 10, 12, 12), shuffle: true,
		writers:   []*probe.Writer{register("b", 11, ns), register("a", 10, ns), register("after", 12, ns)},
		explained: true, chunk: 3, after: 2, culprits: []string{"a", "b"},
		moves: []Move{{probe.DevBaseSeq, 10, 12}},
	}, {
		name:   "writer dropped",
		result: linkDump(4, 3), chunks: samples(10, 10, 11, 11),
		writers: []*probe.Writer{register("after", 11, ns)},
		chunk:   3, after: 2, moves: []Move{{probe.DevBaseSeq, 10, 11}}, note: "no writer event",
	}, {
		name:   "chunk sample dropped",
		result: linkDump(4, 3), chunks: slices.Delete(samples(10, 10, 11, 11), 0, 1),
		writers: []*probe.Writer{register("x", 10, ns)},
		missing: true, explained: true, culprits: []string{"x"}, note: "chunk numbers unknown",
	}, {
		name:   "no samples at all",
		result: linkDump(4, 3), writers: []*probe.Writer{register("x", 10, ns)},
		missing: true, note: "no kernel samples",
	}, {
		// The bump landed while chunk 2 was built, after it read the
		// counter: its snapshot has it, its cb->seq does not.
		name:   "bump during previous chunk",
		result: linkDump(4, 3), chunks: lateSamples(),
		writers:   []*probe.Writer{register("x", 10, ns)},
		explained: true, chunk: 3, after: 2, late: true, culprits: []string{"x"},
		moves: []Move{{probe.DevBaseSeq, 10, 11}},
	}, {
		name:   "wrap-around",
		result: linkDump(3, 2), chunks: samples(0xffffffff, 1, 1),
		writers:   []*probe.Writer{register("x", 0xffffffff, ns), register("y", 0, ns)},
		explained: true, chunk: 2, after: 1, culprits: []string{"x", "y"},
		moves: []Move{{probe.DevBaseSeq, 0xffffffff, 1}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunks, writers := slices.Clone(tt.chunks), slices.Clone(tt.writers)
			if tt.shuffle {
				r := rand.New(rand.NewPCG(1, 2))
				r.Shuffle(len(chunks), func(i, j int) { chunks[i], chunks[j] = chunks[j], chunks[i] })
				r.Shuffle(len(writers), func(i, j int) { writers[i], writers[j] = writers[j], writers[i] })
			}
			dumps := Join([]*nlclient.Result{tt.result}, chunks, writers)
			if len(dumps) != 1 {
				t.Fatalf("%d dumps, want 1", len(dumps))
			}
			d := dumps[0]
			if d.Explained() != tt.explained {
				t.Errorf("explained %v, want %v: %v", d.Explained(), tt.explained, d.Interruptions)
			}
			if (d.Missing != "") != tt.missing {
				t.Errorf("missing %q, want %v", d.Missing, tt.missing)
			}
			if len(d.Mismatches) > 0 && !tt.missing {
				t.Errorf("mismatches %v", d.Mismatches)
			}
			if len(d.Interruptions) == 0 {
				t.Fatalf("no interruption explained")
			}
			in := d.Interruptions[0]
			if in.Chunk != tt.chunk || in.After != tt.after || in.Late != tt.late {
				t.Errorf("chunk %d after %d late %v, want %d after %d late %v", in.Chunk, in.After, in.Late, tt.chunk, tt.after, tt.late)
			}
			if tt.culprits != nil && !slices.Equal(names(in.Writers), tt.culprits) {
				t.Errorf("writers %v, want %v", names(in.Writers), tt.culprits)
			}
			if tt.moves != nil && !slices.Equal(in.Moves, tt.moves) {
				t.Errorf("moves %v, want %v", in.Moves, tt.moves)
			}
			if tt.note != "" && !strings.Contains(in.Note, tt.note) {
				t.Errorf("note %q, want it to mention %q", in.Note, tt.note)
			}
		})
	}
}

func lateSamples() []*probe.Sample {
	s := samples(10, 10, 11, 11)
	s[1].Counters.DevBaseSeq = 11 // snapshot at exit saw the bump
	return s
}

func TestJoinDoneFlag(t *testing.T) {
	r := linkDump(2)
	r.DoneInterrupted = true
	chunks := samples(10, 10)
	last := chunks[len(chunks)-1]
	last.SeqAfter, last.Counters.DevBaseSeq, last.DoneFlagged = 11, 11, true
	d := Join([]*nlclient.Result{r}, chunks, []*probe.Writer{register("x", 10, ns)})[0]
	if !d.Explained() || len(d.Interruptions) != 1 || !d.Interruptions[0].Done {
		t.Fatalf("DONE flag not explained: %v", d.Interruptions)
	}
}

func TestJoinMismatch(t *testing.T) {
	chunks := samples(10, 10, 11, 11)
	chunks[2].Flagged = false
	d := Join([]*nlclient.Result{linkDump(4, 3)}, chunks, nil)[0]
	if len(d.Mismatches) != 1 || !strings.Contains(d.Mismatches[0], "chunk 3") {
		t.Fatalf("mismatches %v, want chunk 3", d.Mismatches)
	}
}

func TestJoinRetries(t *testing.T) {
	first := linkDump(4, 3)
	final := linkDump(4)
	final.Seq, final.Attempt, final.Earlier = seq+1, 2, []*nlclient.Result{first}
	chunks := samples(10, 10, 11, 11)
	for _, c := range samples(11, 11, 11, 11) {
		c.Seq = seq + 1
		chunks = append(chunks, c)
	}
	dumps := Join([]*nlclient.Result{final}, chunks, []*probe.Writer{register("x", 10, ns)})
	if len(dumps) != 2 || !dumps[0].Explained() || dumps[1].Interrupted() {
		t.Fatalf("want the earlier attempt explained, then a clean one: %+v", dumps)
	}
	sum := Summarize(dumps, 3)
	if len(sum) != 1 || sum[0].Dumps != 2 || sum[0].Interrupted != 1 || sum[0].Explained != 1 || sum[0].Share() != 1 {
		t.Fatalf("summary %+v", sum)
	}
	if len(sum[0].Culprits) != 1 || sum[0].Culprits[0].Subject != "x" || sum[0].Culprits[0].Count != 1 {
		t.Fatalf("culprits %+v", sum[0].Culprits)
	}
}
