package repro

import (
	"slices"
	"testing"
)

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want []string
	}{
		{"", nil},
		{"failed to list links: interrupted system call", []string{"interrupted system call"}},
		{"ERROR: Results may be incomplete or inconsistent\n", []string{"results may be incomplete or inconsistent"}},
		{"Dump was interrupted and may be inconsistent.", []string{"Dump was interrupted"}},
		{"netlink: device or resource busy", []string{"device or resource busy"}},
		{"dump interrupted: interrupted system call: results may be incomplete or inconsistent",
			[]string{"interrupted system call", "results may be incomplete or inconsistent"}},
		{"all fine", nil},
	} {
		if got := Match(tc.out); !slices.Equal(got, tc.want) {
			t.Errorf("Match(%q) = %q, want %q", tc.out, got, tc.want)
		}
	}
}
