package correlate

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

func TestReportText(t *testing.T) {
	tests := []struct {
		name string
		r    Report
		want []string
	}{{
		name: "unavailable",
		r:    Report{Unavailable: "kernel tracing unavailable: fentry backend: load programs: operation not permitted"},
		want: []string{"kernel attribution unavailable: kernel tracing unavailable: fentry backend"},
	}, {
		name: "explained",
		r: Report{Backend: "fentry", Drops: 2,
			Kinds: []Summary{{Kind: nlclient.Link, Dumps: 10, Interrupted: 4, Explained: 3, Lost: 1,
				Culprits: []Culprit{{Op: probe.Register, Subject: "churn0", Process: "nltrace", Count: 3}}}},
			Skipped: []probe.Skipped{{Symbol: "nexthop_flush_dev", Reason: "not in kernel BTF", Lost: "nexthops flushed with their device"}},
		},
		want: []string{
			"kernel attribution (fentry backend; 2 events dropped)",
			"link     4 interrupted, 3 explained (75.0%); lost flags seen by the kernel 1",
			"register churn0 by nltrace (3)",
			"ring buffer overflowed: 2 events lost",
			"not observable on this kernel: nexthops flushed with their device (nexthop_flush_dev)",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := tt.r.WriteText(&b); err != nil {
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

// TestReportJSON checks that a report reads back as it was written: the
// churn report's readers unmarshal it.
func TestReportJSON(t *testing.T) {
	dumps := Join([]*nlclient.Result{linkDump(4, 3)}, samples(10, 10, 11, 11), []*probe.Writer{register("x", 10, ns)})
	r := NewReport(dumps, 5)
	r.Backend = "kprobe"
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("unmarshal: %v\n%s", err, b)
	}
	if len(back.Dumps) != 1 || len(back.Dumps[0].Interruptions) != 1 {
		t.Fatalf("read back %s", b)
	}
	got, want := back.Dumps[0].Interruptions[0], r.Dumps[0].Interruptions[0]
	if !reflect.DeepEqual(got, want) {
		t.Errorf("interruption read back as %+v, want %+v", got, want)
	}
	if !reflect.DeepEqual(back.Kinds, r.Kinds) {
		t.Errorf("kinds read back as %+v, want %+v", back.Kinds, r.Kinds)
	}
}
