package vm

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestMarkers(t *testing.T) {
	log := "[    1.0] booting\r\n" +
		"@@nltrace ffffff begin\n" + // an earlier run
		"[    2.0] x @@nltrace abc123 begin\r\n" +
		"{\"ok\": true}\n" +
		"@@nltrace abc123 end rc=3 secs=1.5\n" +
		"@@nltrace abc123"
	ms := Markers(log, "@@nltrace", "abc123")
	if len(ms) != 2 || ms[0].Word != "begin" || ms[1].Word != "end" {
		t.Fatalf("markers %+v, want begin and end", ms)
	}
	if ms[1].Fields["rc"] != "3" || ms[1].Fields["secs"] != "1.5" {
		t.Errorf("end fields %v", ms[1].Fields)
	}
	var v struct{ OK bool }
	between := log[ms[0].End:ms[1].Start]
	if err := json.Unmarshal([]byte(between), &v); err != nil || !v.OK {
		t.Errorf("between the markers: %q: %v", between, err)
	}
	if m, ok := ParseMarker("@@vmtest abc123 boot release=6.1.0-57-cloud-amd64 require=root,veth\r", "@@vmtest", "abc123"); !ok ||
		m.Word != "boot" || m.Fields["require"] != "root,veth" || strings.Contains(m.Fields["require"], "\r") {
		t.Errorf("ParseMarker = %+v, %v", m, ok)
	}
}
