package probe

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// hook is one kernel function and the programs of each backend for it.
type hook struct {
	symbol string
	entry  [2]string // program names: fentry, kprobe
	exit   [2]string // fexit, kretprobe; "" when the hook has no exit
	// optional hooks are absent on some kernels by design (rtnl_dumpit
	// appeared in 6.10): their absence is not reported.
	optional bool
	// lost says what cannot be observed without the hook.
	lost string
}

var (
	dumpEntry = [2]string{"fentry_dump", "kprobe_dump"}
	dumpExit  = [2]string{"fexit_dump", "kretprobe_dump"}
)

func dumpHook(symbol, lost string, optional bool) hook {
	return hook{symbol: symbol, entry: dumpEntry, exit: dumpExit, optional: optional, lost: lost}
}

func writerHook(symbol, prog, lost string) hook {
	return hook{symbol: symbol, entry: [2]string{"fentry_" + prog, "kprobe_" + prog}, lost: lost}
}

// hooks lists every attach point. The dump handlers share two programs;
// each writer has its own.
var hooks = []hook{
	dumpHook("rtnl_dump_ifinfo", "link dump chunks", false),
	dumpHook("rtnl_stats_dump", "stats dump chunks", false),
	dumpHook("inet_dump_ifaddr", "IPv4 address dump chunks", false),
	dumpHook("inet6_dump_ifaddr", "IPv6 address dump chunks", false),
	dumpHook("rtm_dump_nexthop", "nexthop dump chunks", false),
	dumpHook("rtnl_dump_all", "AF_UNSPEC dump chunks", false),
	dumpHook("rtnl_dumpit", "", true),
	writerHook("list_netdevice", "list_netdevice", "device registrations and moves into a namespace"),
	writerHook("unlist_netdevice", "unlist_netdevice", "device unregistrations and moves out of a namespace"),
	writerHook("__dev_change_net_namespace", "dev_change_net_namespace", "telling namespace moves from (un)registrations"),
	writerHook("fib_inetaddr_event", "fib_inetaddr_event", "IPv4 address changes"),
	writerHook("fib_netdev_event", "fib_netdev_event", "links brought up (IPv4 generation bumps)"),
	writerHook("__ipv6_ifa_notify", "ipv6_ifa_notify", "IPv6 address changes"),
	writerHook("rtm_new_nexthop", "rtm_new_nexthop", "nexthops added or replaced"),
	writerHook("rtm_del_nexthop", "rtm_del_nexthop", "nexthops deleted"),
	writerHook("nexthop_flush_dev", "nexthop_flush_dev", "nexthops flushed with their device"),
}

// Skipped is a hook left out on this kernel.
type Skipped struct {
	Symbol string `json:"symbol"`
	Reason string `json:"reason"`
	Lost   string `json:"lost"` // what the report cannot explain because of it
}

func (s Skipped) String() string { return fmt.Sprintf("%s (%s: %s)", s.Symbol, s.Reason, s.Lost) }

// available decides which hooks this kernel can take with the backend:
// fentry needs the function in BTF, kprobe a text symbol; both need it
// out of line, which a symbol (rather than only inlined copies) shows.
func available(b Backend, kernel *btf.Spec, syms *Kallsyms) (use []hook, skipped []Skipped) {
	for _, h := range hooks {
		reason := ""
		switch b {
		case Fentry:
			var fn *btf.Func
			if err := kernel.TypeByName(h.symbol, &fn); err != nil {
				reason = "not in kernel BTF (inlined or absent)"
				if errors.Is(err, btf.ErrMultipleMatches) {
					reason = "several functions of that name in BTF"
				}
			}
		case Kprobe:
			if !syms.Has(h.symbol) {
				reason = "not in /proc/kallsyms (inlined or absent)"
			}
		}
		if reason == "" {
			use = append(use, h)
		} else if !h.optional {
			skipped = append(skipped, Skipped{h.symbol, reason, h.lost})
		}
	}
	return use, skipped
}

func skippedList(s []Skipped) string {
	names := make([]string, len(s))
	for i, x := range s {
		names[i] = x.String()
	}
	return strings.Join(names, "; ")
}
