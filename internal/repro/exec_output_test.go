package repro_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nltrace/nltrace/internal/churn"
	. "github.com/nltrace/nltrace/internal/repro"
)

// A symptom is a symptom however much the program printed before it.
func TestExecFindsSymptomsAfterMuchOutput(t *testing.T) {
	e := engine(t, churn.Config{Links: 2})
	script := `head -c 3145728 /dev/zero | tr '\0' x; echo; echo "RTNETLINK answers: Device or resource busy" >&2`
	var runs []ExecRun
	err := RunExec(context.Background(), ExecConfig{Command: []string{"sh", "-c", script}, NetNS: e.Target().Path,
		Timeout: 30 * time.Second, Runs: 1}, func(r ExecRun) { runs = append(runs, r) })
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || !slices.Equal(runs[0].Symptoms, []string{"device or resource busy"}) {
		t.Fatalf("runs %+v: want the symptom printed after 3 MiB of output", runs)
	}
}
