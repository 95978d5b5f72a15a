package correlate

import "github.com/nltrace/nltrace/probe"

// liveWriters holds a Joiner's writers by namespace and counter, in the
// order they arrived.
type liveWriters struct {
	byKey map[indexKey]*writerQueue
	n     int
	// latest is each counter's newest value seen, in samples and writers.
	latest map[indexKey]uint32
}

func (l *liveWriters) saw(k indexKey, v uint32) {
	if l.latest == nil {
		l.latest = map[indexKey]uint32{}
	}
	if cur, ok := l.latest[k]; !ok || before(cur, v) {
		l.latest[k] = v
	}
}

// writerQueue is one counter's writers, oldest first, also indexed by
// the value they bumped: a window is a few values wide, while a busy
// churn keeps many thousands of writers for the dumps still waiting.
type writerQueue struct {
	fifo[stamped]
	byBefore map[uint32][]*probe.Writer
}

type stamped struct {
	w  *probe.Writer
	at int64 // arrival, ns since the Joiner started
}

func (l *liveWriters) add(w *probe.Writer, now int64) {
	if l.byKey == nil {
		l.byKey = map[indexKey]*writerQueue{}
	}
	k := indexKey{netns: w.NetNS, counter: w.Counter, notified: w.Notified}
	q := l.byKey[k]
	if q == nil {
		q = &writerQueue{byBefore: map[uint32][]*probe.Writer{}}
		l.byKey[k] = q
	}
	q.push(stamped{w, now})
	l.n++
	if w.Notified {
		return // no value to index it by
	}
	q.byBefore[w.Before] = append(q.byBefore[w.Before], w)
	l.saw(k, w.Before)
	if !w.Op.MayNotBump() {
		l.saw(k, w.Before+1)
	}
}

// pop releases the oldest writer of queue q, of key k.
func (l *liveWriters) pop(k indexKey, q *writerQueue) {
	w := q.fifo.pop().w
	l.n--
	if q.len() == 0 {
		delete(l.byKey, k)
	}
	if w.Notified {
		return
	}
	// Writers of one value leave in the order they came, as from the queue.
	if same := q.byBefore[w.Before]; len(same) > 1 {
		same[0] = nil
		q.byBefore[w.Before] = same[1:]
	} else {
		delete(q.byBefore, w.Before)
	}
}

func (l *liveWriters) notified(netns uint64, c probe.Counter, from, to uint64, n int) []*probe.Writer {
	q := l.byKey[indexKey{netns: netns, counter: c, notified: true}]
	if q == nil {
		return nil
	}
	return received(func(yield func(*probe.Writer) bool) {
		for _, e := range q.live() {
			if !yield(e.w) {
				return
			}
		}
	}, from, to, n)
}

func (l *liveWriters) between(netns uint64, c probe.Counter, from, to uint32) []*probe.Writer {
	q := l.byKey[indexKey{netns: netns, counter: c}]
	if q == nil {
		return nil
	}
	var out []*probe.Writer
	if to-from <= uint32(q.len()) {
		for v := from; v != to; v++ {
			out = append(out, q.byBefore[v]...)
		}
	} else {
		for _, e := range q.live() {
			if inWindow(e.w, from, to) {
				out = append(out, e.w)
			}
		}
	}
	sortWindow(out, from)
	return out
}

// fifo is a queue on a slice whose popped slots are cleared, so that
// what was popped can be collected.
type fifo[T any] struct {
	items []T
	head  int
}

func (q *fifo[T]) push(v T)  { q.items = append(q.items, v) }
func (q *fifo[T]) len() int  { return len(q.items) - q.head }
func (q *fifo[T]) front() T  { return q.items[q.head] }
func (q *fifo[T]) live() []T { return q.items[q.head:] }

func (q *fifo[T]) pop() T {
	v := q.items[q.head]
	var zero T
	q.items[q.head] = zero
	q.head++
	switch {
	case q.head == len(q.items):
		q.items, q.head = q.items[:0], 0
	case q.head >= 64 && 2*q.head >= len(q.items):
		// A queue that never empties would otherwise keep its popped
		// prefix, and append would copy that room along each time it
		// grows.
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return v
}
