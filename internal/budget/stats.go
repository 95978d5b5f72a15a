package budget

import "math"

// z is the normal quantile of the 95% intervals.
const z = 1.959964

// Interval is a proportion k/n with its 95% Wilson score interval, which
// stays honest at k = 0 and k = n, where a normal interval collapses.
type Interval struct {
	K    int     `json:"k"`
	N    int     `json:"n"`
	P    float64 `json:"p"`
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

func wilson(k, n int) Interval { return wilsonZ(k, n, z) }

// wilsonZ is the Wilson interval for the normal quantile zq.
func wilsonZ(k, n int, zq float64) Interval {
	if n == 0 {
		return Interval{Low: 0, High: 1}
	}
	p := float64(k) / float64(n)
	nf := float64(n)
	den := 1 + zq*zq/nf
	mid := (p + zq*zq/(2*nf)) / den
	half := zq * math.Sqrt(p*(1-p)/nf+zq*zq/(4*nf*nf)) / den
	in := Interval{K: k, N: n, P: p, Low: math.Max(0, mid-half), High: math.Min(1, mid+half)}
	// Exact at the ends: rounding leaves 1e-19 where 0 is meant, and a
	// model's 1e-60 would fall outside.
	if k == 0 {
		in.Low = 0
	}
	if k == n {
		in.High = 1
	}
	return in
}

// Contains says whether v lies in the interval.
func (i Interval) Contains(v float64) bool { return v >= i.Low && v <= i.High }

// dumpsFor is the fewest dumps that could show a failure probability
// below 1-success at all: with none failing, the interval's upper bound
// is z²/(n+z²). A budget "for 99.99%" from fewer dumps would be a guess.
func dumpsFor(success float64) int {
	return int(math.Ceil(z * z * (1/(1-success) - 1)))
}
