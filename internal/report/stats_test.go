package report

import "testing"

func TestPercentile(t *testing.T) {
	s := []int{1, 1, 1, 1, 1, 1, 1, 1, 2, 5} // sorted
	for _, tc := range []struct {
		p    float64
		want int
	}{{50, 1}, {80, 1}, {90, 2}, {99, 5}, {100, 5}, {0.1, 1}} {
		if got := Percentile(s, tc.p); got != tc.want {
			t.Errorf("p%v = %d, want %d", tc.p, got, tc.want)
		}
	}
	if got := Percentile(nil, 50); got != 0 {
		t.Errorf("empty: %d", got)
	}
}

func TestBudget(t *testing.T) {
	many := make([]int, 0, 1000)
	for i := range 1000 {
		switch {
		case i < 990:
			many = append(many, 1)
		case i < 999:
			many = append(many, 2)
		default:
			many = append(many, 7)
		}
	}
	for _, tc := range []struct {
		name     string
		attempts []int
		total    int
		want     int
		ok       bool
	}{
		{"all first time", []int{1, 1, 1}, 3, 1, true},
		{"999 of 1000 within 2", many, 1000, 2, true},
		{"one gave up among 1000", many[:999], 1000, 2, true},
		{"two gave up among 1000", many[:998], 1000, 0, false},
		{"one of three gave up", []int{1, 3}, 3, 0, false},
		{"nothing", nil, 0, 0, false},
	} {
		got, ok := Budget(tc.attempts, tc.total, 0.999)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: Budget = %d, %v; want %d, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
