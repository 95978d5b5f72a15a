// Command vnl-v1.3.1 lists links and addresses the way tools built on
// vishvananda/netlink v1.3.1 do. That release reads an interrupted dump to
// its end and returns the data together with ErrDumpInterrupted ("results may
// be incomplete or inconsistent"), which tools log as a warning and use the
// data anyway; this client prints the warning with the number of links it got.
//
// Exit status: 0 every run clean, 1 a run failed, 2 usage, 3 a run returned
// data with ErrDumpInterrupted, 4 a run saw fewer links than -expect (see
// ../README.md). When several apply, 1 outranks 4, which outranks 3: a short
// count is worse than a warning.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/vishvananda/netlink"
)

const (
	exitFailed       = 1
	exitWarned       = 3
	exitInconsistent = 4
)

func main() {
	count := flag.Int("count", 1, "runs, each LinkList, VLAN filter, AddrList")
	expect := flag.Int("expect", 0, "stable link count: a run that sees fewer links is inconsistent")
	verbose := flag.Bool("v", false, "print every run's counts, not only the summary")
	flag.Parse()
	if *count < 1 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}

	var failed, warned, inconsistent, minLinks, maxLinks int
	for i := 1; i <= *count; i++ {
		vlans, links, err := getVlans()
		warn := errors.Is(err, netlink.ErrDumpInterrupted)
		if warn {
			fmt.Fprintf(os.Stderr, "run %d: warning: %v (got %d links)\n", i, err, links)
			err = nil
		}
		var addrs []netlink.Addr
		if err == nil {
			addrs, err = netlink.AddrList(nil, netlink.FAMILY_ALL)
			if errors.Is(err, netlink.ErrDumpInterrupted) {
				fmt.Fprintf(os.Stderr, "run %d: warning: failed to list addresses: %v (got %d addresses)\n", i, err, len(addrs))
				warn, err = true, nil
			}
			if err != nil {
				err = fmt.Errorf("failed to list addresses: %w", err)
			}
		}
		if err != nil {
			failed++
			fmt.Fprintf(os.Stderr, "run %d: %v\n", i, err)
			continue
		}
		if minLinks == 0 || links < minLinks {
			minLinks = links
		}
		maxLinks = max(maxLinks, links)
		switch {
		case links < *expect:
			inconsistent++
			fmt.Fprintf(os.Stderr, "run %d: inconsistent: got %d links, want at least %d\n", i, links, *expect)
		case warn:
			warned++
		}
		if *verbose {
			fmt.Printf("run %d: links=%d vlans=%d addrs=%d\n", i, links, len(vlans), len(addrs))
		}
	}
	fmt.Printf("runs=%d ok=%d failed=%d warned=%d inconsistent=%d links_min=%d links_max=%d\n",
		*count, *count-failed-warned-inconsistent, failed, warned, inconsistent, minLinks, maxLinks)
	switch {
	case failed > 0:
		os.Exit(exitFailed)
	case inconsistent > 0:
		os.Exit(exitInconsistent)
	case warned > 0:
		os.Exit(exitWarned)
	}
}

// getVlans is the step that failed in the field with v1.2.1: list every
// link, keep the VLANs. With v1.3.1 an interrupted dump still returns its
// links, wrapped the same way, together with ErrDumpInterrupted.
func getVlans() ([]*netlink.Vlan, int, error) {
	links, err := netlink.LinkList()
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return nil, 0, fmt.Errorf("failed to get vlans: %w", fmt.Errorf("failed to list links: %w", err))
	}
	var vlans []*netlink.Vlan
	for _, l := range links {
		if v, ok := l.(*netlink.Vlan); ok {
			vlans = append(vlans, v)
		}
	}
	if err != nil {
		err = fmt.Errorf("failed to list links: %w", err)
	}
	return vlans, len(links), err
}
