package check

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	"github.com/nltrace/nltrace/nlclient"
)

// compare says which way a fact may move from a baseline without harm.
type compare int

const (
	// exact: any change is a regression (positions, window sizes).
	exact compare = iota
	// seenIsWorse: something never seen in the baseline now happens
	// (an unflagged wrong dump, a missed device). Its absence in a run is
	// no news: a finite run may just not have hit it.
	seenIsWorse
	// unseenIsWorse: something the baseline saw no longer happens (the flag
	// itself).
	unseenIsWorse
	// lowerIsWorse: a percentage fell more than one point.
	lowerIsWorse
)

func (c compare) regressed(base, now int) bool {
	switch c {
	case seenIsWorse:
		return base == 0 && now > 0
	case unseenIsWorse:
		return base > 0 && now == 0
	case lowerIsWorse:
		return now < base-1
	}
	return base != now
}

// expectation is what a kernel's features predict for one check.
type expectation struct {
	text, because string
	holds         func(v int) bool
}

func is(want int) func(int) bool     { return func(v int) bool { return v == want } }
func atLeast(min int) func(int) bool { return func(v int) bool { return v >= min } }

// checkDef is one named check: the measurement that gives its fact, how
// the fact may move, and what a kernel with features f should show (nil:
// nothing known).
type checkDef struct {
	name    string
	measure string
	compare compare
	expect  func(Features) *expectation
}

// measureFunc is one run whose facts several checks read.
type measureFunc func(context.Context, Features) (facts, error)

const kernelDoc = "docs/kernel.md"

func definitions(client *Client) []checkDef {
	defs := []checkDef{
		{"flag-position", "inject", exact, func(Features) *expectation {
			return &expectation{"a change after chunk K is flagged on chunk K+2", kernelDoc + ": chunk K+1 is built inside the read that returned chunk K", is(2)}
		}},
		{"lost-window", "inject", exact, func(Features) *expectation {
			return &expectation{"changes after the last 2 data chunks go unflagged", kernelDoc + ": the chunk that would carry their flag holds only NLMSG_DONE", is(2)}
		}},
	}
	for _, k := range []nlclient.Kind{nlclient.Link, nlclient.Addr4, nlclient.Addr6, nlclient.Route4, nlclient.Route6, nlclient.Neigh, nlclient.Nexthop} {
		defs = append(defs, kindDefs(k)...)
	}
	defs = append(defs,
		checkDef{"attribution", "churn-link", lowerIsWorse, func(Features) *expectation {
			return &expectation{"at least 99% of interrupted link dumps explained", "the kernel probe samples every chunk and every counter bump", atLeast(99)}
		}})
	if client != nil {
		defs = append(defs,
			checkDef{"client/exit", "client", seenIsWorse, func(Features) *expectation {
				why := "expected of " + filepath.Base(client.Command[0])
				if len(client.Allow) > 0 {
					why += "; a run that printed an allowed symptom may exit with any status"
				}
				return &expectation{"every run exits " + client.exitWords(), why, is(0)}
			}},
			checkDef{"client/symptoms", "client", seenIsWorse, func(Features) *expectation {
				text := "no run prints a symptom of an interrupted dump"
				if len(client.Allow) > 0 {
					text += " other than " + joinQuoted(client.Allow)
				}
				return &expectation{text, "expected of " + filepath.Base(client.Command[0]), is(0)}
			}})
	}
	return defs
}

func kindDefs(k nlclient.Kind) []checkDef {
	name := k.String()
	churnRun := "churn-" + name
	var defs []checkDef
	never := func(Features) *expectation {
		return &expectation{"never flagged", kernelDoc + ": their dumps check no generation counter", is(0)}
	}
	switch k {
	case nlclient.Route4, nlclient.Route6, nlclient.Neigh:
		defs = append(defs, checkDef{name + "/flagged", churnRun, seenIsWorse, never})
	default:
		defs = append(defs, checkDef{name + "/flagged", churnRun, unseenIsWorse, func(f Features) *expectation {
			if k == nlclient.Nexthop && !f.Nexthops {
				return nil
			}
			return &expectation{"flagged under churn", kernelDoc + ": its dumps check " + counter(k), is(1)}
		}})
	}
	defs = append(defs, checkDef{name + "/unflagged", churnRun, seenIsWorse, func(Features) *expectation {
		if k != nlclient.Link {
			return nil // 6.18 returned wrong address dumps without the flag
		}
		return &expectation{"a wrong dump always carries the flag", kernelDoc + ": every device registered or removed between chunks moves dev_base_seq", is(0)}
	}})
	defs = append(defs, checkDef{name + "/stable-objects", churnRun, seenIsWorse, func(f Features) *expectation {
		if k != nlclient.Link || f.Walk != "ifindex" {
			return nil // hash walks and positional cursors may miss or repeat
		}
		return &expectation{"no device that existed throughout is missed or repeated", "walks devices by ifindex: " + f.WalkSource, is(0)}
	}})
	switch k {
	case nlclient.Link:
		defs = append(defs, checkDef{"link/done-flag", churnRun, seenIsWorse, func(Features) *expectation {
			return &expectation{"NLMSG_DONE never flagged", kernelDoc + ": no link dump measured had a flagged NLMSG_DONE", is(0)}
		}})
	case nlclient.Addr6:
		defs = append(defs, checkDef{"addr6/positional", "positional-addr6", exact, func(Features) *expectation {
			return &expectation{"an address added after chunk 1 makes the dump repeat one", kernelDoc + ": addresses are walked by position and IPv6 puts a new one first", is(1)}
		}})
	case nlclient.Addr4:
		defs = append(defs, checkDef{"addr4/positional", "positional-addr4", exact, func(Features) *expectation { return nil }})
	}
	return defs
}

func counter(k nlclient.Kind) string {
	switch k {
	case nlclient.Addr4:
		return "the IPv4 address generation"
	case nlclient.Addr6:
		return "the IPv6 address generation"
	case nlclient.Nexthop:
		return "nexthop.seq"
	}
	return "dev_base_seq"
}

// measurements maps measurement names to their runs.
func measurements(churnFor time.Duration, client *Client) map[string]measureFunc {
	m := map[string]measureFunc{
		"inject":           measureInject,
		"positional-addr4": measurePositional(nlclient.Addr4),
		"positional-addr6": measurePositional(nlclient.Addr6),
	}
	for _, k := range []nlclient.Kind{nlclient.Link, nlclient.Addr4, nlclient.Addr6, nlclient.Route4, nlclient.Route6, nlclient.Neigh, nlclient.Nexthop} {
		m["churn-"+k.String()] = measureChurn(k, churnFor)
	}
	if client != nil {
		m["client"] = measureClient(client)
	}
	return m
}

func joinQuoted(ss []string) string { return strings.Join(quoted(ss), ", ") }
