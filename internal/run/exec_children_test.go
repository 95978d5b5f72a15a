package run

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nltrace/nltrace/internal/churn"
	"github.com/nltrace/nltrace/internal/repro"
	"github.com/nltrace/nltrace/internal/testenv"
)

// ppidState reads a process's parent and state from /proc/PID/stat.
func ppidState(pid int) (ppid int, state string, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, "", false
	}
	// The command name, in parentheses, may hold spaces.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	ppid, _ = strconv.Atoi(f[1])
	return ppid, f[0], true
}

// The program's orphans are the run's children: re-parented to it while
// they live, reaped when they end (no zombie piles up over a long run),
// and killed when the run ends.
func TestRunReapsAndEndsOrphans(t *testing.T) {
	testenv.Root(t)
	dir := t.TempDir()
	quick, slow, away := filepath.Join(dir, "quick"), filepath.Join(dir, "slow"), filepath.Join(dir, "away")
	// Run 1 leaves an orphan that ends soon, and one that would live on;
	// run 2 gives the first time to end and be reaped.
	script := fmt.Sprintf(`if [ -s %[1]s ]; then sleep 0.5; exit 0; fi
setsid sleep 0.1 >/dev/null 2>&1 & echo $! > %[1]s
setsid sleep 1000 >/dev/null 2>&1 & echo $! > %[2]s`, quick, slow)
	// And, where unshare exists, one in a namespace of its own.
	_, err := exec.LookPath("unshare")
	if err == nil {
		script += fmt.Sprintf("\nsetsid unshare -n sleep 1000 >/dev/null 2>&1 & echo $! > %s", away)
	}
	pidIn := func(file string) int {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Error(err)
			return -1
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return pid
	}
	var runs int
	var problems []string
	_, err = Run(context.Background(), Config{
		Namespace: &churn.Config{Links: 2, Workers: 1, Mix: churn.Mix{churn.LinkOps: 1}},
		Exec:      &Exec{Command: []string{"sh", "-c", script}, Timeout: 10 * time.Second, Runs: 2},
	}, Hooks{ExecRun: func(r repro.ExecRun) {
		runs++
		switch runs {
		case 1:
			if ppid, _, _ := ppidState(pidIn(slow)); ppid != os.Getpid() {
				problems = append(problems, fmt.Sprintf("the orphan's parent is %d, not the run (%d)", ppid, os.Getpid()))
			}
		case 2:
			if _, state, ok := ppidState(pidIn(quick)); ok {
				problems = append(problems, fmt.Sprintf("an orphan that ended 0.4 s ago is still there, state %s", state))
			}
		}
	}})
	t.Cleanup(func() {
		for _, f := range []string{slow, away} {
			if pid := pidIn(f); pid > 0 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	if _, state, ok := ppidState(pidIn(slow)); ok {
		t.Errorf("the program's daemon outlived the run, state %s", state)
	}
	if _, err := os.Stat(away); err == nil {
		if _, state, ok := ppidState(pidIn(away)); ok {
			t.Errorf("the program's daemon in a namespace of its own outlived the run, state %s", state)
		}
	}
}

// The reaper takes the orphans' exit statuses, never the program's: each
// run here ends as its orphans do, hundreds of times.
func TestRunReaperLeavesTheProgramItsStatus(t *testing.T) {
	testenv.Root(t)
	const runs = 300
	statuses := map[string]int{}
	_, err := Run(context.Background(), Config{
		Namespace: &churn.Config{Links: 2, Workers: 1, Mix: churn.Mix{churn.LinkOps: 1}},
		Exec:      &Exec{Command: []string{"sh", "-c", "(true &); (true &); exit 3"}, Timeout: 10 * time.Second, Runs: runs},
	}, Hooks{ExecRun: func(r repro.ExecRun) { statuses[r.Status()]++ }})
	if err != nil {
		t.Fatal(err)
	}
	if statuses["exit 3"] != runs {
		t.Errorf("statuses %v, want %d runs that exit 3", statuses, runs)
	}
}
