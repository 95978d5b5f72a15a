package watch

import (
	"slices"
	"testing"
	"time"

	"github.com/nltrace/nltrace/internal/correlate"
	"github.com/nltrace/nltrace/probe"
)

func TestInterruptedLine(t *testing.T) {
	shim := func(op probe.Op, dev string) *probe.Writer {
		return &probe.Writer{Op: op, Counter: probe.DevBaseSeq, Ifname: dev, PID: 3301, Comm: "containerd-shim"}
	}
	r := &Interrupted{Time: time.Date(2026, 11, 29, 12, 3, 4, 512e6, time.Local), Dumper: Process{PID: 812, Comm: "kubelet"},
		NetNS: 4026531840, Kind: "link", Attempt: 2,
		Interruptions: []*correlate.Interruption{{
			Chunk: 7, After: 6, Moves: []correlate.Move{{Counter: probe.DevBaseSeq, From: 10, To: 12}},
			Writers: []*probe.Writer{shim(probe.Register, "veth3f2a"), shim(probe.Unregister, "veth9c01"),
				{Op: probe.Addr6New, Counter: probe.DevBaseSeq, Worker: true, Comm: "kworker/0:1"}},
		}, {Done: true, Moves: []correlate.Move{{Counter: probe.DevBaseSeq, From: 12, To: 13}}, Note: "counter moved but no writer event recorded"}},
	}
	want := "12:03:04.512 kubelet[812] netns 4026531840 link dump interrupted (attempt 2 in a row) at chunk 7: dev_base_seq +2 by " +
		"containerd-shim[3301] (register veth3f2a, unregister veth9c01), kernel worker kworker/0:1 (addr6-new); " +
		"and at NLMSG_DONE: dev_base_seq +1 by a writer not seen"
	if got := r.String(); got != want {
		t.Errorf("line:\n got %s\nwant %s", got, want)
	}
}

func TestParseKinds(t *testing.T) {
	for _, tt := range []struct {
		in   []string
		want []string
		ok   bool
	}{
		{[]string{"all"}, nil, true},
		{[]string{"link,addr4", "Link"}, []string{"link", "addr4"}, true},
		{[]string{"addr"}, []string{"addr"}, true},
		{[]string{"links"}, nil, false},
	} {
		got, err := ParseKinds(tt.in)
		if (err == nil) != tt.ok || !slices.Equal(got, tt.want) {
			t.Errorf("ParseKinds(%q) = %q, %v", tt.in, got, err)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []Config{
		{Comm: "a-name-of-16-chars"}, {Duration: -time.Second}, {Until: -1}, {Metrics: "9090"}, {Kinds: []string{"route9"}},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	if err := (&Config{Comm: "kubelet", Metrics: ":9090", Kinds: []string{"link"}}).Validate(); err != nil {
		t.Error(err)
	}
}
