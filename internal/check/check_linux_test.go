package check

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/nltrace/nltrace/internal/churn"
	"github.com/nltrace/nltrace/internal/netns"
	"github.com/nltrace/nltrace/internal/testenv"
)

// TestSuiteHoldsOnThisKernel runs the whole default suite: every check
// measures a fact (none fails to run), every documented expectation holds
// on this kernel (here, and in each guest of the kernel matrix), and the
// namespaces it built are gone.
func TestSuiteHoldsOnThisKernel(t *testing.T) {
	testenv.Root(t)
	res, err := Run(context.Background(), Config{Churn: DefaultChurn}, func(s string) { t.Log(s) })
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res.Checks {
		v := "-"
		if o.Value != nil {
			v = fmt.Sprint(*o.Value)
		}
		t.Logf("%-24s %-10s %3s  %s", o.Name, o.Verdict, v, o.Measured)
		switch o.Verdict {
		case Error, Regression:
			t.Errorf("%s: %s: %s (expected %s: %s)", o.Name, o.Verdict, o.Measured, o.Expect, o.Because)
		case Skipped:
			// Nexthops may be missing, only where BTF says so; an unflagged
			// wrong dump cannot be looked for where no dump was wrong.
			nexthopless := strings.HasPrefix(o.Name, "nexthop/") && !res.Features.Nexthops
			if !nexthopless && !strings.HasSuffix(o.Name, "/unflagged") {
				t.Errorf("%s skipped: %s", o.Name, o.Measured)
			}
		}
	}
	t.Logf("kernel %s, walk %s (%s): suite %.1fs", res.Kernel, res.Features.Walk, res.Features.WalkSource, res.Secs)
	if left, err := netns.List(fmt.Sprintf("%s%d-", churn.Prefix, os.Getpid())); err != nil || len(left) > 0 {
		t.Errorf("namespaces left behind: %v %v", left, err)
	}
}
