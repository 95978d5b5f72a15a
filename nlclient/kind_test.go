package nlclient

import (
	"testing"
	"unsafe"
)

// TestKindTableIsComplete: a kind whose row lacks a field would fail only
// when that kind is dumped.
func TestKindTableIsComplete(t *testing.T) {
	if got := unsafe.Sizeof(ifStatsMsg{}); got != sizeofIfStatsMsg {
		t.Errorf("ifStatsMsg is %d bytes, the kernel's struct if_stats_msg %d", got, sizeofIfStatsMsg)
	}
	for _, k := range Kinds {
		i := k.info()
		switch {
		case i == nil:
			t.Errorf("kind %d has no row", int(k))
		case i.name == "" || i.request == 0 || i.reply == 0 || len(i.header) == 0 || i.decode == nil || i.describe == nil:
			t.Errorf("%v: incomplete row %+v", k, *i)
		}
		if back, err := ParseKind(k.String()); back != k || err != nil {
			t.Errorf("ParseKind(%q) = %v, %v", k.String(), back, err)
		}
	}
	for _, k := range []Kind{0, Stats + 1} {
		if k.info() != nil {
			t.Errorf("%d has a row", int(k))
		}
	}
}
