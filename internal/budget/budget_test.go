package budget

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestWilson(t *testing.T) {
	for _, tt := range []struct {
		k, n      int
		low, high float64
	}{
		{0, 100, 0, 0.0370}, {50, 100, 0.4038, 0.5962}, {100, 100, 0.9630, 1}, {1, 1000, 0.00018, 0.00565},
	} {
		i := wilson(tt.k, tt.n)
		if math.Abs(i.Low-tt.low) > 5e-4 || math.Abs(i.High-tt.high) > 5e-4 {
			t.Errorf("wilson(%d, %d) = [%.5f, %.5f], want [%.5f, %.5f]", tt.k, tt.n, i.Low, i.High, tt.low, tt.high)
		}
	}
	// A budget for 99.9% needs dumps enough that none failing bounds the
	// failure below 0.1%.
	n := dumpsFor(0.999)
	if wilson(0, n).High > 0.001 || wilson(0, n-1).High <= 0.001 {
		t.Errorf("dumpsFor(0.999) = %d: bound %.6f, one fewer %.6f", n, wilson(0, n).High, wilson(0, n-1).High)
	}
}

// synthetic makes a cell of dumps whose attempts fail as attempt(i, prev)
// says: i is the attempt's index, prev whether the one before failed.
func synthetic(rng *rand.Rand, dumps, attempts int, rate, window float64, attempt func(i int, prev bool) bool) *Cell {
	c := &Cell{Links: 100, Asked: rate, Rate: rate, Exposed: window, Dumps: dumps, Streak: make([]int, attempts+1)}
	for range dumps {
		n, prev := 0, false
		for n < attempts {
			prev = attempt(n, prev)
			if !prev {
				break
			}
			n++
		}
		c.Streak[n]++
	}
	for _, b := range Budgets {
		c.Fail = append(c.Fail, wilson(c.failedAll(b), dumps))
	}
	return c
}

// TestModelOnSyntheticCells: where attempts really are independent with
// p = k·R·W, the fit finds k and every budget's measurement agrees with
// the model; where churn comes in bursts (an interrupted attempt makes the
// next one likely interrupted too), the model is told to disagree.
func TestModelOnSyntheticCells(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const k = 1.4
	var cells []*Cell
	for _, rate := range []float64{10, 100, 300} {
		window := 0.001
		p := k * rate * window
		cells = append(cells, synthetic(rng, 40000, 30, rate, window, func(int, bool) bool { return rng.Float64() < p }))
	}
	got := fitK(cells)
	if math.Abs(got-k) > 0.05 {
		t.Errorf("fitted k %.3f, want %.1f", got, k)
	}
	for _, c := range cells {
		c.judge(got)
		for i, ok := range c.Agree {
			if !ok {
				t.Errorf("independent attempts at %v/s: %d attempts measured %+v, model %.3g", c.Rate, Budgets[i], c.Fail[i], c.Model[i])
			}
		}
	}
	// Bursts: the first attempt fails as often, but a failed attempt is
	// followed by another with probability 0.9.
	p := k * 100 * 0.001
	bursty := synthetic(rng, 40000, 30, 100, 0.001, func(i int, prev bool) bool {
		if i > 0 && prev {
			return rng.Float64() < 0.9
		}
		return rng.Float64() < p
	})
	bursty.judge(k)
	if !bursty.Agree[0] || bursty.Agree[1] {
		t.Errorf("bursty churn: agree %v for budgets %v (first attempt %+v, 5 attempts %+v, model %.3g); want the first to agree and 5 not",
			bursty.Agree, Budgets, bursty.Fail[0], bursty.Fail[1], bursty.Model[1])
	}
	if n, why := bursty.budget(0.999, 30); n != 0 || why == "" {
		t.Errorf("bursty: 99.9%% budget %d (%s); want none within 30 attempts", n, why)
	}
	if n, _ := cells[0].budget(0.999, 30); n != 2 {
		t.Errorf("p = %.3f per attempt: 99.9%% budget %d, want 2", k*10*0.001, n)
	}
}

func TestValidateRejects(t *testing.T) {
	good := Config{Links: []int{100}, Rates: []float64{10}, Kind: 1, Attempts: 30, CellTime: 5e9}
	if err := good.Validate(); err != nil {
		t.Fatalf("a good sweep: %v", err)
	}
	for name, edit := range map[string]func(*Config){
		"empty links": func(c *Config) { c.Links = nil },
		"no rate":     func(c *Config) { c.Rates = nil },
		"zero rate":   func(c *Config) { c.Rates = []float64{0} },
		"too fast":    func(c *Config) { c.Rates = []float64{MaxRate + 1} },
		"zero time":   func(c *Config) { c.CellTime = 0 },
		"no attempts": func(c *Config) { c.Attempts = 0 },
		"address":     func(c *Config) { c.Kind = 2 },
		"no links":    func(c *Config) { c.Links = []int{0} },
	} {
		c := good
		edit(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestWilsonEndsAreExact(t *testing.T) {
	if i := wilson(0, 1275); i.Low != 0 || !i.Contains(2e-60) {
		t.Errorf("none of 1275: %+v does not hold 2e-60", i)
	}
	if i := wilson(7, 7); i.High != 1 || !i.Contains(1) {
		t.Errorf("all of 7: %+v", i)
	}
}
