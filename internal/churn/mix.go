package churn

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nltrace/nltrace/nlclient"
)

// OpKind is a family of churn operations; each moves one kernel counter.
type OpKind int

const (
	// LinkOps add and delete links: dev_base_seq.
	LinkOps OpKind = iota
	// NetnsOps move a link to the run's second namespace and back:
	// dev_base_seq.
	NetnsOps
	// Addr4Ops add and delete IPv4 addresses: the IPv4 generation.
	Addr4Ops
	// UpOps bring a link up and down: NETDEV_UP bumps the IPv4 generation.
	UpOps
	// Addr6Ops add and delete IPv6 addresses: the IPv6 generation.
	Addr6Ops
	// NexthopOps add and delete nexthops: the nexthop sequence.
	NexthopOps
	// NeighOps add and delete IPv4 neighbour entries: no counter at all,
	// so a neighbour dump they make wrong is never flagged.
	NeighOps
	numOpKinds
)

var opNames = [numOpKinds]string{"link", "netns", "addr4", "up", "addr6", "nexthop", "neigh"}

func (k OpKind) String() string {
	if k >= 0 && k < numOpKinds {
		return opNames[k]
	}
	return fmt.Sprintf("op(%d)", int(k))
}

// MarshalText makes operation kinds readable in JSON.
func (k OpKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// OpKinds lists every kind, in the order reports print them.
func OpKinds() []OpKind {
	out := make([]OpKind, numOpKinds)
	for i := range out {
		out[i] = OpKind(i)
	}
	return out
}

// Mix is the relative weight of each operation kind; a zero weight never
// runs.
type Mix [numOpKinds]int

func (m Mix) String() string {
	var parts []string
	for k, w := range m {
		if w > 0 {
			parts = append(parts, fmt.Sprintf("%v=%d", OpKind(k), w))
		}
	}
	return strings.Join(parts, ",")
}

// Empty reports whether no operation has a weight.
func (m Mix) Empty() bool { return m == Mix{} }

// ParseMix reads "link,addr4" (equal weights) or "link=3,netns=1".
func ParseMix(s string) (Mix, error) {
	var m Mix
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, weight, hasWeight := strings.Cut(item, "=")
		k := OpKind(-1)
		for i, n := range opNames {
			if strings.EqualFold(strings.TrimSpace(name), n) {
				k = OpKind(i)
			}
		}
		if k < 0 {
			return m, fmt.Errorf("churn mix %q: unknown operation %q (want %s)", s, name, strings.Join(opNames[:], ", "))
		}
		w := 1
		if hasWeight {
			var err error
			if w, err = strconv.Atoi(strings.TrimSpace(weight)); err != nil || w < 0 {
				return m, fmt.Errorf("churn mix %q: weight %q of %v: want a whole number >= 0", s, weight, k)
			}
		}
		m[k] = w
	}
	if m.Empty() {
		return m, fmt.Errorf("churn mix %q: no operation with a weight (want e.g. link=3,netns=1)", s)
	}
	return m, nil
}

// MixFor is the default mix for dumps of the given kinds: the operations
// that move the counters those dumps check.
func MixFor(kinds []nlclient.Kind) Mix {
	var m Mix
	for _, k := range kinds {
		switch k {
		case nlclient.Link, nlclient.Stats:
			m[LinkOps] = 1
		case nlclient.Addr4:
			m[Addr4Ops] = 1
		case nlclient.Addr6:
			m[Addr6Ops] = 1
		case nlclient.Nexthop:
			m[NexthopOps] = 1
		}
	}
	if m.Empty() {
		// Routes and neighbours never flag; churn links so that something
		// happens all the same.
		m[LinkOps] = 1
	}
	return m
}

// scheduler picks operations in proportion to their weights, evenly spread
// (smooth weighted round robin), so that a run is repeatable.
type scheduler struct {
	mix     Mix
	total   int
	current [numOpKinds]int
}

func newScheduler(m Mix, offset int) *scheduler {
	s := &scheduler{mix: m}
	for _, w := range m {
		s.total += w
	}
	// Workers start at different points of the cycle.
	for range offset % max(s.total, 1) {
		s.next()
	}
	return s
}

func (s *scheduler) next() OpKind {
	best := OpKind(-1)
	for k, w := range s.mix {
		s.current[k] += w
		if w > 0 && (best < 0 || s.current[k] > s.current[best]) {
			best = OpKind(k)
		}
	}
	s.current[best] -= s.total
	return best
}
