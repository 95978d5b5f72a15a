package nlclient

import (
	"fmt"
	"net/netip"
	"testing"
)

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func TestCheck(t *testing.T) {
	links := func(idx ...int32) []Object {
		var out []Object
		for _, i := range idx {
			out = append(out, Object{Kind: Link, Index: i, Name: fmt.Sprint("l", i)})
		}
		return out
	}
	stable := []Key{{Kind: Link, Index: 1}, {Kind: Link, Index: 2}, {Kind: Link, Index: 3}}
	tests := []struct {
		name     string
		objects  []Object
		missing  string
		repeated string
	}{
		{"complete, with churned extras", links(1, 2, 3, 40), "[]", "[]"},
		{"a skipped device", links(1, 3), "[link ifindex 2]", "[]"},
		{"a repeated device", links(1, 2, 2, 3), "[]", "[link ifindex 2]"},
		{"repeated churned object counts too", links(1, 2, 3, 40, 40), "[]", "[link ifindex 40]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Check(&Result{Objects: tt.objects}, stable)
			if fmt.Sprint(c.Missing) != tt.missing || fmt.Sprint(c.Repeated) != tt.repeated {
				t.Errorf("missing %v repeated %v, want %s %s", c.Missing, c.Repeated, tt.missing, tt.repeated)
			}
			if c.OK() != (tt.missing == "[]" && tt.repeated == "[]") {
				t.Errorf("OK() = %v", c.OK())
			}
		})
	}
}
