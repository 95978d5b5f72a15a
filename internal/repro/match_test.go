package repro

import (
	"bytes"
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

// A symptom counts wherever the writes split the output, and however much
// came before it, while the matcher keeps a few dozen bytes.
func TestMatcherStreams(t *testing.T) {
	const sym = "RTNETLINK answers: Device or Resource Busy\n"
	for cut := 0; cut <= len(sym); cut++ {
		m := newMatcher()
		m.Write([]byte(sym[:cut]))
		m.Write([]byte(sym[cut:]))
		if got := m.symptoms(); !slices.Equal(got, []string{"device or resource busy"}) {
			t.Errorf("split after %d bytes: %q", cut, got)
		}
	}

	m := newMatcher()
	filler := bytes.Repeat([]byte("x"), 4096)
	for range (2 << 20) / len(filler) {
		m.Write(filler)
	}
	if len(m.buf) > m.keep || cap(m.buf) > m.keep+matchChunk {
		t.Errorf("after 2 MiB the matcher holds %d bytes (capacity %d), want at most %d", len(m.buf), cap(m.buf), m.keep)
	}
	// One write far larger than a chunk, the symptom at its very end.
	m.Write(append(bytes.Repeat([]byte("y"), 1<<20), "Interrupted System Call"...))
	if got := m.symptoms(); !slices.Equal(got, []string{"interrupted system call"}) {
		t.Errorf("after 3 MiB: %q, want the symptom at the end", got)
	}
	if cap(m.buf) > m.keep+matchChunk {
		t.Errorf("one 1 MiB write grew the matcher to %d bytes", cap(m.buf))
	}
}

func TestTailKeepsTheEnd(t *testing.T) {
	var all []byte
	tw := &tailWriter{}
	for i, n := range []int{10, 700, 3, 511, 1, 0, 2000, 5} {
		p := bytes.Repeat([]byte{byte('a' + i)}, n)
		all = append(all, p...)
		if got, err := tw.Write(p); got != n || err != nil {
			t.Fatalf("Write(%d bytes) = %d, %v", n, got, err)
		}
		want := all[max(0, len(all)-TailBytes):]
		if !bytes.Equal(tw.b, want) {
			t.Fatalf("after %d writes: kept %d bytes ending %q, want %d ending %q", i+1, len(tw.b), tw.b[max(0, len(tw.b)-8):], len(want), want[max(0, len(want)-8):])
		}
	}
}
