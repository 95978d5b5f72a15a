package probe

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// twin is one hook's program for each backend (TWIN in bpf/common.h).
type twin struct {
	fentry, kprobe *ebpf.ProgramSpec
}

func (t twin) pick(b Backend) *ebpf.ProgramSpec {
	if b == Kprobe {
		return t.kprobe
	}
	return t.fentry
}

// hook is one kernel function and its programs.
type hook struct {
	symbol string
	side   side
	entry  twin
	exit   twin // zero when the hook has no exit programs
	// optional hooks are absent on some kernels by design (rtnl_dumpit
	// appeared in 6.10): their absence is not reported.
	optional bool
	// lost says what cannot be observed without the hook.
	lost string
}

func (h hook) hasExit() bool { return h.exit.fentry != nil }

// hooks lists every attach point. The dump handlers share one entry and
// one exit twin, aimed at each handler at load time; each writer has its
// own twin, whose kernel function is the one named in the C (TWIN).
func (o *objects) hooks() []hook {
	d, w := &o.dump, &o.write
	dump := func(symbol, lost string, optional bool) hook {
		return hook{symbol: symbol, side: dumpSide,
			entry: twin{d.FentryDump, d.KprobeDump}, exit: twin{d.FexitDump, d.KretprobeDump},
			optional: optional, lost: lost}
	}
	writer := func(t twin, lost string) hook {
		return hook{symbol: t.kprobe.AttachTo, side: writerSide, entry: t, lost: lost}
	}
	return []hook{
		dump("rtnl_dump_ifinfo", "link dump chunks", false),
		dump("rtnl_stats_dump", "stats dump chunks", false),
		dump("inet_dump_ifaddr", "IPv4 address dump chunks", false),
		dump("inet6_dump_ifaddr", "IPv6 address dump chunks", false),
		dump("rtm_dump_nexthop", "nexthop dump chunks", false),
		dump("rtnl_dump_all", "AF_UNSPEC dump chunks", false),
		dump("rtnl_dumpit", "", true),
		writer(twin{w.FentryListNetdevice, w.KprobeListNetdevice}, "device registrations and moves into a namespace"),
		writer(twin{w.FentryUnlistNetdevice, w.KprobeUnlistNetdevice}, "device unregistrations and moves out of a namespace"),
		writer(twin{w.FentryDevChangeNetNamespace, w.KprobeDevChangeNetNamespace}, "telling namespace moves from (un)registrations"),
		writer(twin{w.FentryFibInetaddrEvent, w.KprobeFibInetaddrEvent}, "IPv4 address changes"),
		writer(twin{w.FentryFibNetdevEvent, w.KprobeFibNetdevEvent}, "links brought up (IPv4 generation bumps)"),
		writer(twin{w.FentryIpv6IfaNotify, w.KprobeIpv6IfaNotify}, "IPv6 address changes"),
		writer(twin{w.FentryRtmNewNexthop, w.KprobeRtmNewNexthop}, "nexthops added or replaced"),
		writer(twin{w.FentryRtmDelNexthop, w.KprobeRtmDelNexthop}, "nexthops deleted"),
		writer(twin{w.FentryNexthopFlushDev, w.KprobeNexthopFlushDev}, "nexthops flushed with their device"),
	}
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
func available(hooks []hook, b Backend, kernel *btf.Spec, syms *Kallsyms) (use []hook, skipped []Skipped) {
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
