package budget

import (
	"context"
	"testing"
	"time"

	"github.com/nltrace/nltrace/internal/testenv"
	"github.com/nltrace/nltrace/nlclient"
)

// TestModelAgreesOnRealCells measures two real cells at a low rate, where
// a change rarely waits for or holds up a dump, fits the model over both,
// and requires each measured probability's interval to hold the model's:
// there the exposed window explains the interruptions. The report's 95%
// intervals would miss a true value one time in twenty, so with six
// comparisons the test holds the model to 99.9% intervals.
func TestModelAgreesOnRealCells(t *testing.T) {
	testenv.Root(t)
	cfg := Config{Links: []int{100, 300}, Rates: []float64{10}, Kind: nlclient.Link, Attempts: 30, CellTime: 4 * time.Second}
	rep, err := Run(context.Background(), cfg, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fitted k %.2f", rep.K)
	for _, c := range rep.Cells {
		for i, n := range Budgets {
			t.Logf("%d links at %.1f/s, %d dumps: %d attempts all fail: measured %+v, model %.3g", c.Links, c.Rate, c.Dumps, n, c.Fail[i], c.Model[i])
			wide := wilsonZ(c.Fail[i].K, c.Fail[i].N, 3.29)
			if !wide.Contains(c.Model[i]) {
				t.Errorf("%d links, %d attempts: the model's %.3g is outside the measured 99.9%% interval [%.3g, %.3g]", c.Links, n, c.Model[i], wide.Low, wide.High)
			}
		}
		if c.Short {
			t.Errorf("%d links: the churn reached only %.1f of %v changes/s", c.Links, c.Rate, c.Asked)
		}
	}
}
