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

// benchLinks is the namespace's link count, lo included.
const benchLinks = 1001

// BenchmarkLinkDump measures link dumps of 1001 links, in a namespace of its
// own, three ways: nlclient's Client.Dump (lenient), the raw floor (one
// blocking socket, recvfrom into 32 KiB until NLMSG_DONE, nothing decoded)
// and vishvananda/netlink v1.3.1's LinkList; each reports dumps/s.
//
// nlclient-vs-raw reports the speed ratio nlclient/raw from dumps of both
// alternating in ABBA order, so that both see the same load from other
// processes and neither always runs right after the other: only nlclient
// allocates, and the garbage collector's work it causes runs partly during
// whatever comes next. Select one sub-benchmark per process
// (-bench 'BenchmarkLinkDump/^raw$') to measure a side alone;
// scripts/bench-dump.sh does both and prints both ratios.
func BenchmarkLinkDump(b *testing.B) {
	path := testenv.NetNS(b)
	c, err := Dial(Target{Path: path})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	populate(b, c, benchLinks)

	// measure runs dump b.N times, checks every dump saw all links, and
	// reports dumps/s.
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
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "dumps/s")
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
		var nlTime, rawTime time.Duration
		timed := func(dump func() (int, error), total *time.Duration) {
			start := time.Now()
			if _, err := dump(); err != nil {
				b.Fatal(err)
			}
			*total += time.Since(start)
		}
		for i := 0; b.Loop(); i++ {
			if i%2 == 0 {
				timed(nlDump, &nlTime)
				timed(raw.dump, &rawTime)
			} else {
				timed(raw.dump, &rawTime)
				timed(nlDump, &nlTime)
			}
		}
		b.ReportMetric(rawTime.Seconds()/nlTime.Seconds(), "nlclient/raw")
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
