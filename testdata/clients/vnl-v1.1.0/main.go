// Command vnl-v1.1.0 lists links and addresses the way tools built on
// vishvananda/netlink v1.1.0 (and every release up to v1.2.0) do. Those
// releases ignore NLM_F_DUMP_INTR: an interrupted dump is returned as if it
// were whole, with no error. On kernels up to 6.8 the hash-bucket cursor can
// then skip or repeat devices, which only a count (-expect) reveals.
//
// Exit status: 0 every run clean, 1 a run failed, 2 usage, 4 a run saw fewer
// links than -expect (see ../README.md).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/vishvananda/netlink"
)

const (
	exitFailed       = 1
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

	var failed, inconsistent, minLinks, maxLinks int
	for i := 1; i <= *count; i++ {
		vlans, links, err := getVlans()
		var addrs []netlink.Addr
		if err == nil {
			addrs, err = netlink.AddrList(nil, netlink.FAMILY_ALL)
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
		if links < *expect {
			inconsistent++
			fmt.Fprintf(os.Stderr, "run %d: inconsistent: got %d links, want at least %d\n", i, links, *expect)
		}
		if *verbose {
			fmt.Printf("run %d: links=%d vlans=%d addrs=%d\n", i, links, len(vlans), len(addrs))
		}
	}
	fmt.Printf("runs=%d ok=%d failed=%d warned=0 inconsistent=%d links_min=%d links_max=%d\n",
		*count, *count-failed-inconsistent, failed, inconsistent, minLinks, maxLinks)
	switch {
	case failed > 0:
		os.Exit(exitFailed)
	case inconsistent > 0:
		os.Exit(exitInconsistent)
	}
}

// getVlans is the step that failed in the field: list every link, keep the
// VLANs. It also returns how many links the dump held.
func getVlans() ([]*netlink.Vlan, int, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return nil, 0, fmt.Errorf("failed to get vlans: %w", fmt.Errorf("failed to list links: %w", err))
	}
	var vlans []*netlink.Vlan
	for _, l := range links {
		if v, ok := l.(*netlink.Vlan); ok {
			vlans = append(vlans, v)
		}
	}
	return vlans, len(links), nil
}
