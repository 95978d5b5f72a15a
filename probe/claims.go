package probe

import (
	"slices"
	"time"
)

// claims hands each bump of a counter to the one request that most likely
// made it. Requests that change devices and addresses make their bumps
// one at a time under RTNL, but their syscalls overlap: a device deletion
// returns long after its bumps (it waits for the device's users outside
// RTNL), and a request that entered while another held RTNL waits for it.
// So a bump goes to the request whose window holds it and that entered
// last before it (the latest Before), leaving out the values bumped while
// a request waited for a mutex (Waited*): those are another request's or
// a kernel worker's. Deciding needs the requests that return after one:
// each is decided resolveDelay after it returns.
type claims struct {
	sets   map[claimKey]*claimSet
	recent []*request // by return, until decided and then for resolveDelay more
	next   int        // recent[next:] are not decided yet
	// cands indexes the recent requests that may have made each bump:
	// a busy churn keeps thousands recent, a bump has a few candidates.
	cands map[claimKey]map[uint32][]*request
}

type claimKey struct {
	netns   uint64
	counter Counter
}

// claimSet is the values of one counter handed out. Values far behind the
// newest are forgotten: a request never spans claimMemory values.
type claimSet struct {
	taken  map[uint32]bool
	newest uint32
}

const (
	// resolveDelay bounds how much later than another request whose
	// window overlaps its own a request returns (a device deletion waits
	// for RCU grace periods); the Joiner's Grace (1 s) must exceed it.
	resolveDelay = uint64(400 * time.Millisecond)
	claimMemory  = 4096
	// maxBumps bounds the writers one request turns into.
	maxBumps = 64
)

var requestCounters = []Counter{DevBaseSeq, AddrGenID4, AddrGenID6, NexthopSeq}

func newClaims() *claims {
	return &claims{sets: map[claimKey]*claimSet{}, cands: map[claimKey]map[uint32][]*request{}}
}

// add takes a request in and returns the writers of the requests decided
// by its return.
func (c *claims) add(r *request) []*Writer {
	c.recent = append(c.recent, r)
	r.values(func(k claimKey, v uint32) {
		m := c.cands[k]
		if m == nil {
			m = map[uint32][]*request{}
			c.cands[k] = m
		}
		m[v] = append(m[v], r)
	})
	return c.resolve(r.e.TsExit)
}

// forget drops a request from the candidates.
func (c *claims) forget(r *request) {
	r.values(func(k claimKey, v uint32) {
		m := c.cands[k]
		rs := slices.DeleteFunc(m[v], func(q *request) bool { return q == r })
		if len(rs) == 0 {
			delete(m, v)
		} else {
			m[v] = rs
		}
		if len(m) == 0 {
			delete(c.cands, k)
		}
	})
}

// values calls fn with each bump the request may have made: in its
// window, outside its waits, of a counter it can move.
func (r *request) values(fn func(claimKey, uint32)) {
	for i, counter := range requestCounters {
		from, to := r.window(i, counter)
		for v := from; v != to; v++ {
			if !r.waited(i, v) {
				fn(claimKey{r.e.Netns, counter}, v)
			}
		}
	}
}

// window is counter i's values the request may have bumped from:
// [from, to), empty when it cannot move the counter.
func (r *request) window(i int, counter Counter) (from, to uint32) {
	from, to = r.e.Before[i], r.e.After[i]
	if int32(to-from) <= 0 || !r.mayBump(counter) {
		return 0, 0
	}
	if to-from > maxBumps {
		from = to - maxBumps
	}
	return from, to
}

// resolve decides the requests that returned resolveDelay before now
// (CLOCK_MONOTONIC ns), and returns one Writer per bump they made, in the
// form the fentry backend reports them, so that correlate joins them
// unchanged.
func (c *claims) resolve(now uint64) []*Writer {
	var out []*Writer
	// Requests come in the order they returned, give or take the CPUs'
	// race for the ring buffer: those due are the first undecided ones.
	for ; c.next < len(c.recent) && c.recent[c.next].e.TsExit+resolveDelay <= now; c.next++ {
		out = c.assign(out, c.recent[c.next])
	}
	n := 0
	for n < c.next && c.recent[n].e.TsExit+2*resolveDelay <= now {
		c.forget(c.recent[n])
		c.recent[n] = nil
		n++
	}
	c.recent, c.next = c.recent[n:], c.next-n
	return out
}

// flush decides every request: no more come.
func (c *claims) flush() []*Writer { return c.resolve(^uint64(0) - 2*resolveDelay) }

func (c *claims) assign(out []*Writer, r *request) []*Writer {
	for i, counter := range requestCounters {
		from, to := r.window(i, counter)
		k := claimKey{r.e.Netns, counter}
		s := c.set(k)
		for v := from; v != to; v++ {
			if s.taken[v] {
				continue
			}
			// A value bumped while the request waited for a mutex is
			// not its own: another request's, or a kernel worker's,
			// which notifications may explain (correlate).
			if r.waited(i, v) || c.winner(k, i, v) != r {
				continue
			}
			s.take(v)
			w := r.writer(counter)
			w.Before = v
			out = append(out, w)
		}
	}
	return out
}

// winner is the request that most likely made the bump from v: of those
// whose window holds it outside their waits, the one that entered last
// before it.
func (c *claims) winner(k claimKey, i int, v uint32) *request {
	var best *request
	for _, q := range c.cands[k][v] {
		if best == nil {
			best = q
			continue
		}
		if d, bd := v-q.e.Before[i], v-best.e.Before[i]; d < bd || d == bd && q.e.TsEnter < best.e.TsEnter {
			best = q
		}
	}
	return best
}

// waited reports whether counter i's bump from v came while the request
// waited for a mutex another request held.
func (r *request) waited(i int, v uint32) bool {
	for w := range min(int(r.e.Waits), len(r.e.WaitedFrom)) {
		if from, to := r.e.WaitedFrom[w][i], r.e.WaitedTo[w][i]; v-from < to-from {
			return true
		}
	}
	return false
}

func (c *claims) set(k claimKey) *claimSet {
	s := c.sets[k]
	if s == nil {
		s = &claimSet{taken: map[uint32]bool{}}
		c.sets[k] = s
	}
	return s
}

func (s *claimSet) take(v uint32) {
	s.taken[v] = true
	if int32(v-s.newest) > 0 {
		s.newest = v
	}
	if len(s.taken) > 2*claimMemory {
		for old := range s.taken {
			if s.newest-old > claimMemory {
				delete(s.taken, old)
			}
		}
	}
}
