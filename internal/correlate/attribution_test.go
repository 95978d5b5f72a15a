package correlate

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

// TestAttributionJSON checks that an attribution reads back as it was
// written: readers of the JSON report unmarshal it.
func TestAttributionJSON(t *testing.T) {
	dumps := Join([]*nlclient.Result{linkDump(4, 3)}, samples(10, 10, 11, 11), []*probe.Writer{register("x", 10, ns)})
	r := NewAttribution(dumps, 5)
	r.Backend = "kprobe"
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Attribution
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
