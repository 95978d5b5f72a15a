package nlclient

import (
	"context"
	"testing"
	"time"

	vnetlink "github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/testenv"
)

// benchLinks is the namespace's link count, lo included: the size at which
// the baseline figures (raw ~580 dumps/s, vishvananda ~79) were measured.
const benchLinks = 1001

// BenchmarkLinkDump compares three ways to dump 1001 links in a namespace of
// its own: nlclient's Client.Dump, the raw floor (one socket, recvfrom into
// 32 KiB until NLMSG_DONE, nothing decoded), and vishvananda/netlink v1.3.1's
// LinkList. nlclient-vs-raw alternates the first two and reports their
// speed ratio, which should stay at 0.8 or above; scripts/bench-dump.sh
// prints it (logged here too, with -v).
func BenchmarkLinkDump(b *testing.B) {
	path := testenv.NetNS(b)
	c, err := Dial(Target{Path: path})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	populate(b, c, benchLinks)

	rates := map[string]float64{}
	// measure runs dump b.N times, checks every dump saw all links, and
	// reports dumps/s; the last (longest) run's rate is kept for the ratio.
	measure := func(name string, dump func() (int, error)) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				n, err := dump()
				if err != nil {
					b.Fatal(err)
				}
				if n < benchLinks {
					b.Fatalf("dump returned %d links, want %d", n, benchLinks)
				}
			}
			rate := float64(b.N) / b.Elapsed().Seconds()
			b.ReportMetric(rate, "dumps/s")
			rates[name] = rate
		})
	}

	nlDump := func() (int, error) {
		r, err := c.Dump(context.Background(), Link, Options{})
		if err != nil {
			return 0, err
		}
		return len(r.Objects), nil
	}
	measure("nlclient", nlDump)

	raw, err := newRawDumper(path)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	measure("raw", raw.dump)

	// Alternating the two dumps exposes both to the same load from other
	// processes: their ratio holds on a busy machine, where the rates of
	// separate runs drift by 20% and more.
	b.Run("nlclient-vs-raw", func(b *testing.B) {
		var nlTime, rawTime time.Duration
		for b.Loop() {
			start := time.Now()
			if _, err := nlDump(); err != nil {
				b.Fatal(err)
			}
			mid := time.Now()
			if _, err := raw.dump(); err != nil {
				b.Fatal(err)
			}
			nlTime += mid.Sub(start)
			rawTime += time.Since(mid)
		}
		b.ReportMetric(rawTime.Seconds()/nlTime.Seconds(), "nlclient/raw")
		rates["interleaved"] = rawTime.Seconds() / nlTime.Seconds()
	})

	ns, err := vnetns.GetFromPath(path)
	if err != nil {
		b.Fatal(err)
	}
	defer ns.Close()
	h, err := vnetlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	measure("vishvananda-v1.3.1", func() (int, error) {
		links, err := h.LinkList()
		return len(links), err
	})

	if rates["raw"] > 0 {
		b.Logf("nlclient/raw = %.2f interleaved, %.2f from separate runs; vishvananda/raw = %.2f",
			rates["interleaved"], rates["nlclient"]/rates["raw"], rates["vishvananda-v1.3.1"]/rates["raw"])
	}
}
