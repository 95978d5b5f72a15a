// Package report turns what the dumpers, the churn engine and --exec runs
// produced into one report per dump kind: how often dumps were interrupted,
// where the flag landed, what retries cost, what lenient clients silently
// got wrong. It prints text for people and JSON for machines.
package report
