package report

import (
	"math"
	"slices"
)

// Distribution describes a sample of counts.
type Distribution struct {
	Min  int     `json:"min"`
	Mean float64 `json:"mean"`
	Max  int     `json:"max"`
}

type summer struct {
	n, sum, min, max int
}

func (s *summer) add(v int) {
	if s.n == 0 || v < s.min {
		s.min = v
	}
	if s.n == 0 || v > s.max {
		s.max = v
	}
	s.n++
	s.sum += v
}

func (s *summer) distribution() Distribution {
	if s.n == 0 {
		return Distribution{}
	}
	return Distribution{Min: s.min, Mean: float64(s.sum) / float64(s.n), Max: s.max}
}

// Percentile is the nearest-rank percentile p (0 < p <= 100) of a sorted
// sample, 0 for an empty one.
func Percentile(sorted []int, p float64) int {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Budget is the smallest attempt count A such that at least share of all
// dumps (total, including those that never reached a consistent result)
// reached one within A attempts. attempts holds, sorted, the attempt count
// of each dump that did. ok is false when no budget within the sample
// reaches the share.
func Budget(attempts []int, total int, share float64) (a int, ok bool) {
	if total == 0 {
		return 0, false
	}
	need := int(math.Ceil(share*float64(total) - 1e-9))
	if need > len(attempts) {
		return 0, false
	}
	if need < 1 {
		need = 1
	}
	return attempts[need-1], true
}

func sorted(v []int) []int {
	s := slices.Clone(v)
	slices.Sort(s)
	return s
}
