package nlclient

import (
	"bytes"
	"testing"

	"github.com/mdlayher/netlink"
)

// FuzzAttributes checks the in-place walker against mdlayher's decoder,
// which it replaces on the dump path: same attributes, same verdict.
func FuzzAttributes(f *testing.F) {
	f.Add(linkPayload(3, "eth0")[16:])
	f.Add([]byte{0, 0, 1, 0, 8, 0, 3, 0, 'l', 'o', 0, 0})
	f.Add([]byte{5, 0, 1, 0, 1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		type attr struct {
			typ  uint16
			data []byte
		}
		var want []attr
		ad, err := netlink.NewAttributeDecoder(b)
		if err == nil {
			for ad.Next() {
				want = append(want, attr{ad.Type(), ad.Bytes()})
			}
			err = ad.Err()
		}
		a := attributes{b: b}
		var got []attr
		for a.next() {
			got = append(got, attr{a.typ, a.data()})
		}
		if (err == nil) != (a.err == nil) {
			t.Fatalf("mdlayher error %v, ours %v", err, a.err)
		}
		if err != nil {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("%d attributes, mdlayher %d", len(got), len(want))
		}
		for i := range got {
			if got[i].typ != want[i].typ || !bytes.Equal(got[i].data, want[i].data) {
				t.Fatalf("attribute %d: %d %x, mdlayher %d %x", i, got[i].typ, got[i].data, want[i].typ, want[i].data)
			}
		}
	})
}
