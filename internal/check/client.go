package check

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nltrace/nltrace/internal/churn"
	"github.com/nltrace/nltrace/internal/repro"
	"github.com/nltrace/nltrace/internal/run"
	"github.com/nltrace/nltrace/nlclient"
)

// Client is the user's program, run again and again in a namespace whose
// links churn, and what is expected of it.
type Client struct {
	Command  []string
	Duration time.Duration // how long it runs under churn
	Timeout  time.Duration // per run
	// Exit lists the exit statuses of a good run besides 0.
	Exit []int
	// Allow lists symptoms (repro.Symptoms, or a part of one) a run may
	// print. A run that printed one may also exit with any status: that is
	// how clients report the warning (vishvananda/netlink v1.3.1's
	// "results may be incomplete or inconsistent").
	Allow []string
}

func (c *Client) validate() error {
	if len(c.Command) == 0 {
		return bad("Client.Command", "[]", "want a program to run")
	}
	for _, a := range c.Allow {
		if strings.TrimSpace(a) == "" || !slices.ContainsFunc(repro.Symptoms, func(s string) bool { return contains(s, a) }) {
			return bad("Client.Allow", a, "want a symptom nltrace recognizes, or part of one: "+strings.Join(quoted(repro.Symptoms), ", "))
		}
	}
	for _, e := range c.Exit {
		if e < 0 || e > 255 {
			return bad("Client.Exit", e, "want exit statuses from 0 to 255")
		}
	}
	if c.Duration <= 0 {
		return bad("Client.Duration", c.Duration, "want a positive duration")
	}
	if c.Timeout < 0 {
		return bad("Client.Timeout", c.Timeout, "want a positive duration, or 0 for none")
	}
	return nil
}

func quoted(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

func contains(s, part string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(part))
}

// allowedBy returns the entry of allow that symptom matches, or "".
func allowedBy(allow []string, symptom string) string {
	for _, a := range allow {
		if symptom != "" && contains(symptom, a) {
			return a
		}
	}
	return ""
}

func (c *Client) exitOK(code int) bool { return code == 0 || slices.Contains(c.Exit, code) }

// judge says whether one run failed its exit expectation and which
// symptoms it printed that are not allowed.
func (c *Client) judge(r repro.ExecRun) (failed bool, forbidden []string) {
	excused := false
	for _, s := range r.Symptoms {
		if allowedBy(c.Allow, s) != "" {
			excused = true
		} else {
			forbidden = append(forbidden, s)
		}
	}
	normal := r.Signal == "" && !r.TimedOut
	failed = !(normal && (c.exitOK(r.ExitCode) || excused))
	return failed, forbidden
}

func (c *Client) exitWords() string {
	codes := []string{"0"}
	for _, e := range c.Exit {
		if e != 0 {
			codes = append(codes, fmt.Sprint(e))
		}
	}
	return strings.Join(codes, " or ")
}

// measureClient runs the client while links churn and counts the runs
// that broke its expectations. A run the end of the churn cut short is not
// judged.
func measureClient(c *Client) func(context.Context, Features) (facts, error) {
	return func(ctx context.Context, _ Features) (facts, error) {
		ns := churn.Config{Links: checkLinks, Workers: 2, Mix: churn.MixFor([]nlclient.Kind{nlclient.Link})}
		var runs, failed, forbidden int
		var failedTail, forbiddenTail string
		printedAllowed := false
		statuses := map[string]int{}
		symptoms := map[string]int{}
		hooks := run.Hooks{ExecRun: func(r repro.ExecRun) {
			if r.CutShort {
				return
			}
			runs++
			f, bad := c.judge(r)
			printedAllowed = printedAllowed || len(bad) < len(r.Symptoms)
			if f {
				failed++
				statuses[status(r)]++
				if failedTail == "" {
					failedTail = r.Tail
				}
			}
			if len(bad) > 0 {
				forbidden++
				if forbiddenTail == "" {
					forbiddenTail = r.Tail
				}
			}
			for _, s := range bad {
				symptoms[s]++
			}
		}}
		cfg := run.Config{Duration: c.Duration, Namespace: &ns, Exec: &run.Exec{Command: c.Command, Timeout: c.Timeout}}
		if _, err := run.Run(ctx, cfg, hooks); err != nil {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		if runs == 0 {
			return nil, fmt.Errorf("%s never finished a run in the %v it runs for: give it longer", c.Command[0], c.Duration)
		}
		if failed == runs && len(symptoms) == 0 && !printedAllowed {
			// Under churn some dumps get through: a client whose every run
			// fails without a word about an interrupted dump is broken here,
			// or cannot run here at all.
			return nil, fmt.Errorf("every one of %d runs of %s failed%s without printing a symptom of an interrupted dump: does it run here? The first one ended with: %q",
				runs, c.Command[0], counts(statuses), lastLines(failedTail, 3))
		}
		return facts{
			"client/exit": {value: failed, text: fmt.Sprintf("%d of %d runs failed%s", failed, runs, counts(statuses)), sample: failedTail},
			"client/symptoms": {value: forbidden,
				text: fmt.Sprintf("%d of %d runs printed a symptom not allowed%s", forbidden, runs, counts(symptoms)), sample: forbiddenTail},
		}, nil
	}
}

func status(r repro.ExecRun) string {
	switch {
	case r.TimedOut:
		return "timed out"
	case r.Signal != "":
		return "killed by " + r.Signal
	}
	return fmt.Sprintf("exit %d", r.ExitCode)
}

// counts renders {"exit 1": 12} as ": exit 1 ×12", most frequent first.
func counts(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%q ×%d", k, m[k])
	}
	return ": " + strings.Join(parts, ", ")
}

// lastLines is the last n lines of s, without trailing blank space.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n\r\t "), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
