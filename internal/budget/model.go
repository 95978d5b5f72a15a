package budget

import "math"

// The model: a change interrupts an attempt when it lands in the attempt's
// exposed window, the time from its first chunk to the last data chunk
// that can still carry the flag (the last two cannot: the lost window of
// docs/kernel.md). With changes paced at R per second and an exposed
// window W, an attempt is interrupted with probability min(1, k·R·W); k,
// fitted over the grid, absorbs what the window leaves out (a dump
// waiting for RTNL while a change holds it). Attempts are taken as
// independent, so N in a row all fail with probability p^N: bursty churn,
// or retries that start right after a change, make that wrong, and the
// report says where.

// exposed is the window of one attempt of duration attempt seconds and
// chunks chunks (NLMSG_DONE's included).
func exposed(attempt, chunks float64) float64 {
	data := chunks - 1
	if data <= 2 {
		return 0
	}
	return attempt * (data - 2) / data
}

// fitK finds the k of p = k·R·W that best fits the measured first-attempt
// probabilities, weighting each cell by its dumps (least squares on p;
// cells where the model saturates are left out).
func fitK(cells []*Cell) float64 {
	var num, den float64
	for _, c := range cells {
		x := c.Rate * c.Exposed
		if c.Dumps == 0 || x <= 0 || x >= 1 {
			continue
		}
		w := float64(c.Dumps)
		num += w * x * c.Fail[0].P
		den += w * x * x
	}
	if den == 0 {
		return 1
	}
	return num / den
}

func modelP(k, rate, window float64) float64 { return math.Min(1, k*rate*window) }
