package monitor

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nltrace/nltrace/nlclient"
)

// TestJSONFieldsDocumented checks that every field an event can have in
// JSON is described in docs/monitor.md, and that the doc lists no other.
func TestJSONFieldsDocumented(t *testing.T) {
	e := Event{
		Time: time.Now(), MonoNS: 1, Kind: nlclient.Link, Action: New, NetNSID: 1, NetNS: "n", Ifindex: 1, Ifname: "x",
		Prefix: mustPrefix("10.0.0.1/24"), Table: 1, ID: 1, State: []string{"UP"}, Details: "d",
		PortID: 1, PID: 1, Comm: "c", Unresolved: "u", Lost: 1, Objects: 1,
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/monitor.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, line := range strings.Split(string(doc), "\n") {
		if name, ok := strings.CutPrefix(line, "| `"); ok && strings.Contains(name, "` | ") {
			if name, _, _ = strings.Cut(name, "`"); !slices.Contains([]string{"new", "changed", "del", "overrun", "resync"}, name) {
				documented = append(documented, name)
			}
		}
	}
	for name := range fields {
		if !slices.Contains(documented, name) {
			t.Errorf("JSON field %q is not described in docs/monitor.md", name)
		}
	}
	for _, name := range documented {
		if _, ok := fields[name]; !ok {
			t.Errorf("docs/monitor.md describes %q, which events do not have", name)
		}
	}
}
