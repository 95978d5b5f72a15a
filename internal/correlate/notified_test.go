package correlate

import (
	"slices"
	"testing"

	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

// TestNotifiedExplainsBumpsNoRequestMade checks that a bump no writer
// event accounts for is explained by a change the kernel made by itself,
// known from a notification received between the two chunks' samples,
// and only when no writer of the value is known: in a batch join and in a
// streaming one alike.
func TestNotifiedExplainsBumpsNoRequestMade(t *testing.T) {
	chunks := samples(5, 5, 6)
	for i, c := range chunks {
		c.End = c.Start + 10
		chunks[i] = c
	}
	kernel := func(name string, at uint64) *probe.Writer {
		return &probe.Writer{Time: at, Op: probe.Register, Counter: probe.DevBaseSeq, NetNS: ns, Ifname: name, Notified: true}
	}
	slack := uint64(noteSlack)
	for _, tt := range []struct {
		name    string
		writers []*probe.Writer
		want    []string
	}{
		{"between the samples", []*probe.Writer{kernel("early", 50), kernel("in", 250), kernel("late", 310+slack+1)}, []string{"in"}},
		{"read a little after the second sample", []*probe.Writer{kernel("slack", 310+slack)}, []string{"slack"}},
		{"a writer of the value is known", []*probe.Writer{kernel("in", 250), register("req", 5, ns)}, []string{"req"}},
		{"none received then", []*probe.Writer{kernel("late", 310+slack+1)}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			batch := Join([]*nlclient.Result{linkDump(3, 3)}, chunks, tt.writers)
			j := NewJoiner(JoinerConfig{})
			for _, w := range tt.writers {
				j.Event(w)
			}
			for _, c := range chunks {
				j.Event(c)
			}
			j.Result(linkDump(3, 3))
			stream := j.Flush().Dumps
			for how, d := range map[string]*Dump{"batch": batch[0], "streaming": stream[0]} {
				in := d.Interruptions[0]
				if got := names(in.Writers); !slices.Equal(got, tt.want) {
					t.Errorf("%s: writers %v, want %v (%v)", how, got, tt.want, in)
				}
			}
		})
	}
}
