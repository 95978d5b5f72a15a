// Package churn builds a network namespace of its own, fills it with links,
// addresses and nexthops, and keeps changing it through rtnetlink (never by
// spawning ip(8)) so that concurrent dumps get interrupted.
//
// Every namespace it makes is named nltrace-churn-PID-RUNID-N (and -away for
// the second namespace that netns moves use) and is held locked while the run
// lives, so that a leftover of a killed run can be recognised, from any PID
// namespace, and removed (Leftovers, Cleanup). The host's own namespace is
// never changed.
package churn
