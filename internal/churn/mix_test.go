package churn

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/nltrace/nltrace/nlclient"
)

func itoa(n int) string { return strconv.Itoa(n) }

func TestParseMix(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Mix
		ok   bool
	}{
		{"link", Mix{LinkOps: 1}, true},
		{"link=3,netns=1", Mix{LinkOps: 3, NetnsOps: 1}, true},
		{" ADDR4 , addr6=2 ", Mix{Addr4Ops: 1, Addr6Ops: 2}, true},
		{"up,nexthop=0,link", Mix{UpOps: 1, LinkOps: 1}, true},
		{"", Mix{}, false},
		{"link=0", Mix{}, false},
		{"route", Mix{}, false},
		{"link=-1", Mix{}, false},
		{"link=x", Mix{}, false},
	} {
		got, err := ParseMix(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseMix(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestMixFor(t *testing.T) {
	if got := MixFor([]nlclient.Kind{nlclient.Link}); got != (Mix{LinkOps: 1}) {
		t.Errorf("link: %v", got)
	}
	if got := MixFor([]nlclient.Kind{nlclient.Addr4, nlclient.Nexthop}); got != (Mix{Addr4Ops: 1, NexthopOps: 1}) {
		t.Errorf("addr4,nexthop: %v", got)
	}
	if got := MixFor([]nlclient.Kind{nlclient.Route4}); got != (Mix{LinkOps: 1}) {
		t.Errorf("route4: %v", got)
	}
}

func TestSchedulerFollowsWeights(t *testing.T) {
	s := newScheduler(Mix{LinkOps: 3, NetnsOps: 1, Addr4Ops: 2}, 0)
	var got [numOpKinds]int
	for range 600 {
		got[s.next()]++
	}
	if got[LinkOps] != 300 || got[NetnsOps] != 100 || got[Addr4Ops] != 200 {
		t.Errorf("600 picks: %v", got)
	}
}

func TestOwner(t *testing.T) {
	for _, tc := range []struct {
		name string
		pid  int
		ok   bool
	}{
		{"nltrace-churn-123-1", 123, true},
		{"nltrace-churn-123-1-away", 123, true},
		{"nltrace-churn-x-1", 0, false},
		{"nltrace-test-123", 0, false},
		{"nltrace-churn--1", 0, false},
	} {
		pid, ok := Owner(tc.name)
		if pid != tc.pid || ok != tc.ok {
			t.Errorf("Owner(%q) = %d, %v; want %d, %v", tc.name, pid, ok, tc.pid, tc.ok)
		}
	}
}

func TestPacerNeverRunsAhead(t *testing.T) {
	// Timers never fire early, so ten operations at one per 20 ms cannot
	// end less than 180 ms after the pacer's start; only the lower bound is
	// certain. Measured from the start itself: a clock read after it made the
	// bound short by the gap between the two reads, which a coarse guest clock
	// (6.1 under TCG) widened to a failure.
	begin := time.Now()
	p := &pacer{start: begin, interval: 20 * time.Millisecond}
	for range 10 {
		if err := p.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(begin); d < 180*time.Millisecond {
		t.Errorf("10 operations at 50/s took %v", d)
	}
	var none *pacer
	if err := none.wait(context.Background()); err != nil {
		t.Errorf("a nil pacer waits: %v", err)
	}
}
