package report

import (
	"strings"
	"testing"

	"github.com/nltrace/nltrace/internal/correlate"
	"github.com/nltrace/nltrace/internal/repro"
	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

func TestTextHostRun(t *testing.T) {
	c := NewCollector(Setup{Kernel: "6.18", Policy: nlclient.Lenient, Dumpers: 1}, []nlclient.Kind{nlclient.Link, nlclient.Route4})
	for range 3 {
		c.Add(repro.Dump{Kind: nlclient.Link, Result: result(4, 0, 1)})
	}
	var b strings.Builder
	if err := c.Report(nil, nil).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"netns the current one", "KIND", "link      3", "0 (0.0%)"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("report lacks %q:\n%s", w, b.String())
		}
	}
	if strings.Contains(b.String(), "route4") {
		t.Errorf("a kind with no dumps is in the table:\n%s", b.String())
	}
}

func TestTextAttribution(t *testing.T) {
	tests := []struct {
		name string
		a    correlate.Attribution
		want []string
	}{{
		name: "unavailable",
		a:    correlate.Attribution{Unavailable: "kernel tracing unavailable: fentry backend: load programs: operation not permitted"},
		want: []string{"kernel attribution unavailable: kernel tracing unavailable: fentry backend"},
	}, {
		name: "explained",
		a: correlate.Attribution{Backend: "fentry", Drops: 2,
			Kinds: []correlate.KindAttribution{{Kind: nlclient.Link, Dumps: 10, Interrupted: 4, Explained: 3, Lost: 1,
				Culprits: []correlate.Culprit{{Op: probe.Register, Subject: "churn0", Process: "nltrace", Count: 3}}}},
			Skipped: []probe.Skipped{{Symbol: "nexthop_flush_dev", Reason: "not in kernel BTF", Lost: "nexthops flushed with their device"}},
		},
		want: []string{
			"kernel attribution (fentry backend; 2 events dropped)",
			"link     4 interrupted, 3 explained (75.0%); lost flags seen by the kernel 1",
			"register churn0 by nltrace (3)",
			"ring buffer overflowed: 2 events lost",
			"not observable on this kernel: nexthops flushed with their device (nexthop_flush_dev)",
		},
	}, {
		name: "bounded",
		a:    correlate.Attribution{Backend: "kprobe", OmittedDumps: 7, DroppedSamples: 3, DroppedWriters: 4},
		want: []string{"7 more interrupted or disagreeing dumps are counted above but not listed", "overloaded: 3 chunk samples and 4 writer events dropped"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			r := &Report{Trace: &tt.a}
			if err := r.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("report lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
}
