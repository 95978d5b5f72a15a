package nlclient

import (
	"context"
	"slices"
	"testing"
	"time"

	vnetlink "github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/testenv"
)

// benchLinks is the namespace's link count, lo included.
const benchLinks = 1001

// BenchmarkLinkDump measures link dumps of 1001 links, in a namespace of its
// own, three ways: nlclient's Client.Dump (lenient), the raw floor (one
// blocking socket, recvfrom into 32 KiB until NLMSG_DONE, nothing decoded)
// and vishvananda/netlink v1.3.1's LinkList. Each reports dumps/s from its
// median dump time: on a shared machine a few dumps wait for the CPU many
// times longer than the rest, and a mean follows them.
//
// nlclient-vs-raw reports the speed ratio nlclient/raw (of median dump
// times) from dumps of both alternating in ABBA order, so that both see the
// same load from other processes and neither always runs right after the
// other: only nlclient allocates, and the garbage collector's work it
// causes runs partly during whatever comes next. Select one sub-benchmark
// per process (-bench 'BenchmarkLinkDump/^raw$') to measure a side alone;
// scripts/bench-dump.sh does both and prints both ratios.
func BenchmarkLinkDump(b *testing.B) {
	path := testenv.NetNS(b)
	c, err := Dial(Target{Path: path})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	populate(b, c, benchLinks)

	// timed runs one dump, checks it saw all links, and keeps its duration.
	timed := func(b *testing.B, dump func() (int, error), times *[]time.Duration) {
		start := time.Now()
		n, err := dump()
		*times = append(*times, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if n < benchLinks {
			b.Fatalf("dump returned %d links, want %d", n, benchLinks)
		}
	}
	measure := func(name string, dump func() (int, error)) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			times := make([]time.Duration, 0, 1024)
			for b.Loop() {
				timed(b, dump, &times)
			}
			b.ReportMetric(1/median(times).Seconds(), "dumps/s")
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

	b.Run("nlclient-vs-raw", func(b *testing.B) {
		b.ReportAllocs()
		nlTimes := make([]time.Duration, 0, 1024)
		rawTimes := make([]time.Duration, 0, 1024)
		for i := 0; b.Loop(); i++ {
			if i%2 == 0 {
				timed(b, nlDump, &nlTimes)
				timed(b, raw.dump, &rawTimes)
			} else {
				timed(b, raw.dump, &rawTimes)
				timed(b, nlDump, &nlTimes)
			}
		}
		b.ReportMetric(median(rawTimes).Seconds()/median(nlTimes).Seconds(), "nlclient/raw")
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
}

func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}

// BenchmarkParseLinkDump measures the parsing side of a dump alone: the
// recorded 6.18 link dump read from memory, no socket, no root.
func BenchmarkParseLinkDump(b *testing.B) {
	rec, datagrams := loadRecording(b, "link")
	b.ReportAllocs()
	for b.Loop() {
		d := reader{r: &Result{Kind: rec.Kind, Seq: rec.Seq, PortID: rec.PortID}}
		for _, dg := range datagrams {
			if _, err := d.datagram(dg); err != nil {
				b.Fatal(err)
			}
		}
		if len(d.r.Objects) != rec.Objects {
			b.Fatalf("%d objects, recorded %d", len(d.r.Objects), rec.Objects)
		}
	}
}
