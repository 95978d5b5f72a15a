package vm

import "strings"

// A payload reports to the host by printing marker lines on the serial
// console: "PREFIX RUNID WORD k=v ...", e.g. "@@vmtest 1a2b3c end pkg=./p
// rc=0". The run's random id means output of an earlier run, or a test
// printing something marker-like, cannot count. Kernel messages may share
// the line before the marker, so it is searched for, not anchored.

// Marker is one marker line.
type Marker struct {
	Word   string            // what happened: begin, end, done...
	Fields map[string]string // the k=v words after Word
	// Start and End are the byte offsets of the whole line in the log
	// (End past its newline), so that what a payload printed between two
	// markers is log[a.End:b.Start].
	Start, End int
}

// ParseMarker reads one line (without its newline) as a marker of runID.
func ParseMarker(line, prefix, runID string) (Marker, bool) {
	tag := prefix + " " + runID + " "
	i := strings.Index(line, tag)
	if i < 0 {
		return Marker{}, false
	}
	words := strings.Fields(strings.TrimRight(line[i+len(tag):], "\r"))
	if len(words) == 0 {
		return Marker{}, false
	}
	m := Marker{Word: words[0], Fields: map[string]string{}}
	for _, kv := range words[1:] {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m.Fields[k] = v
		}
	}
	return m, true
}

// Markers finds every marker of runID in a serial log, in order.
func Markers(log, prefix, runID string) []Marker {
	var ms []Marker
	for off := 0; off < len(log); {
		end := len(log)
		if i := strings.IndexByte(log[off:], '\n'); i >= 0 {
			end = off + i + 1
		}
		if m, ok := ParseMarker(strings.TrimSuffix(log[off:end], "\n"), prefix, runID); ok {
			m.Start, m.End = off, end
			ms = append(ms, m)
		}
		off = end
	}
	return ms
}
