package nlclient

import "testing"

// TestParseAllocations bounds what reading a dump allocates: a link's name
// and the slices' growth, nothing per attribute or per message header. An
// allocation count, unlike a time, is the same on a busy machine.
func TestParseAllocations(t *testing.T) {
	rec, datagrams := loadRecording(t, "link")
	allocs := testing.AllocsPerRun(20, func() {
		d := reader{r: &Result{Kind: rec.Kind, Seq: rec.Seq, PortID: rec.PortID}}
		for _, dg := range datagrams {
			if _, err := d.datagram(dg); err != nil {
				t.Fatal(err)
			}
		}
	})
	// One name per link, and a few dozen for growing Objects and Chunks.
	if limit := float64(rec.Objects + 40); allocs > limit {
		t.Errorf("reading %d links allocated %.0f times, want at most %.0f", rec.Objects, allocs, limit)
	}
}
