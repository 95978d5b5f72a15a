package repro

import "bytes"

// matchChunk bounds the bytes searched at once, and so the matcher's
// memory, whatever the size of one write.
const matchChunk = 32 << 10

// matcher finds Symptoms in a program's output as it is written, ignoring
// case, however long the output is. Between writes it keeps only the
// last len(longest symptom)-1 bytes: the most of a symptom that one write
// can end with and the next complete. os/exec calls Write from one
// goroutine when Stdout and Stderr are the same matcher.
type matcher struct {
	needles [][]byte // Symptoms in lower case
	found   []bool
	left    int    // symptoms not found yet
	keep    int    // bytes kept between writes
	buf     []byte // the kept tail, then the chunk being searched
}

func newMatcher() *matcher {
	m := &matcher{found: make([]bool, len(Symptoms)), left: len(Symptoms)}
	for _, s := range Symptoms {
		m.needles = append(m.needles, lower(nil, []byte(s)))
		m.keep = max(m.keep, len(s)-1)
	}
	m.buf = make([]byte, 0, m.keep+matchChunk)
	return m
}

func (m *matcher) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && m.left > 0 {
		c := p[:min(len(p), matchChunk)]
		p = p[len(c):]
		m.buf = lower(m.buf, c)
		for i, s := range m.needles {
			if !m.found[i] && bytes.Contains(m.buf, s) {
				m.found[i] = true
				m.left--
			}
		}
		if cut := len(m.buf) - m.keep; cut > 0 {
			m.buf = m.buf[:copy(m.buf, m.buf[cut:])]
		}
	}
	return n, nil
}

// symptoms lists what was found, in the order of Symptoms.
func (m *matcher) symptoms() []string {
	var out []string
	for i, f := range m.found {
		if f {
			out = append(out, Symptoms[i])
		}
	}
	return out
}

// lower appends p to dst with ASCII letters in lower case. The symptoms
// are ASCII: folding other bytes could not make them match, and keeps
// every byte where it was.
func lower(dst, p []byte) []byte {
	for _, b := range p {
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		dst = append(dst, b)
	}
	return dst
}

// Match returns the symptoms a program's output contains, ignoring case.
func Match(output string) []string {
	m := newMatcher()
	m.Write([]byte(output))
	return m.symptoms()
}

// tailWriter keeps the last TailBytes written.
type tailWriter struct{ b []byte }

func (t *tailWriter) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) > TailBytes {
		p = p[len(p)-TailBytes:]
	}
	t.b = append(t.b, p...)
	if cut := len(t.b) - TailBytes; cut > 0 {
		t.b = t.b[:copy(t.b, t.b[cut:])]
	}
	return n, nil
}
