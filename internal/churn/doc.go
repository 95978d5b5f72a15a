// Package churn builds a network namespace of its own, fills it with links,
// addresses and nexthops, and keeps changing it through rtnetlink (never by
// spawning ip(8)) so that concurrent dumps get interrupted.
//
// Every namespace it makes is named nltrace-churn-PID-N (and -away for the
// second namespace that netns moves use), so that a leftover of a killed run
// can be recognised and removed (Leftovers, Cleanup). The host's own
// namespace is never changed.
package churn
