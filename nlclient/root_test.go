package nlclient

import (
	"context"
	"fmt"
	"net/netip"
	"testing"

	"github.com/nltrace/nltrace/internal/testenv"
)

// populate adds links until the namespace holds n (lo included): dummy
// devices where the kernel has them, veth pairs elsewhere.
func populate(t testing.TB, c *Client, n int) []Key {
	t.Helper()
	kind := "dummy"
	if err := c.AddLink("d1", kind, ""); err != nil {
		kind = "veth"
	}
	stable := []Key{{Kind: Link, Index: 1}}
	r, err := c.Dump(context.Background(), Link, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 2; len(r.Objects) < n; i++ {
		name := fmt.Sprintf("d%d", i)
		if kind == "veth" {
			err = c.AddLink(name, kind, fmt.Sprintf("p%d", i))
		} else {
			err = c.AddLink(name, kind, "")
		}
		if err != nil {
			t.Fatal(err)
		}
		if i%100 == 0 || len(r.Objects)+2 >= n {
			if r, err = c.Dump(context.Background(), Link, Options{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, o := range r.Objects {
		stable = append(stable, o.Key())
	}
	return stable[1:]
}

func TestRootDumpThousandLinks(t *testing.T) {
	path := testenv.NetNS(t)
	c, err := Dial(Target{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stable := populate(t, c, 1000)
	r, err := c.Dump(context.Background(), Link, Options{Policy: Strict})
	if err != nil {
		t.Fatal(err)
	}
	if cons := Check(r, stable); !cons.OK() || len(r.Objects) != len(stable) {
		t.Fatalf("%d of %d links, missing %v, repeated %v", len(r.Objects), len(stable), cons.Missing, cons.Repeated)
	}
	if r.Seq == 0 || r.PortID == 0 || r.NetNSInode == 0 || len(r.Chunks) < 10 {
		t.Errorf("seq %d port %d netns %d chunks %d", r.Seq, r.PortID, r.NetNSInode, len(r.Chunks))
	}
	t.Logf("%d links in %d chunks, %d bytes, %v", len(r.Objects), len(r.Chunks), r.Bytes(), r.Duration)
}

// TestRootInterruptAtChunk pins down where the kernel puts the flag: a link
// added after userspace read chunk K shows on chunk K+2 (chunk K+1 was built
// inside the read that returned chunk K), and a change after either of the
// last two data chunks is never flagged (docs/kernel.md: the lost window).
func TestRootInterruptAtChunk(t *testing.T) {
	path := testenv.NetNS(t)
	c, err := Dial(Target{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	populate(t, c, 1000)
	writer, err := Dial(Target{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()

	clean, err := c.Dump(context.Background(), Link, Options{Policy: Strict})
	if err != nil {
		t.Fatal(err)
	}
	data := len(clean.Chunks)
	if !clean.Chunks[data-1].Done || clean.Chunks[data-1].Messages > 1 {
		t.Fatalf("the last chunk holds more than NLMSG_DONE: %+v", clean.Chunks[data-1])
	}
	data-- // data chunks, without NLMSG_DONE's own
	t.Logf("%d data chunks", data)

	toggle := 0
	change := func() error {
		toggle++
		if toggle%2 == 1 {
			return writer.AddLink("extra", "veth", "extra-peer")
		}
		idx, err := writer.LinkIndex("extra")
		if err != nil {
			return err
		}
		return writer.DeleteLink(idx)
	}
	for _, k := range []int{1, 2, data / 2, data - 2, data - 1, data} {
		for run := 0; run < 3; run++ {
			r, err := c.Dump(context.Background(), Link, Options{OnChunk: func(ch Chunk) error {
				if ch.Index == k {
					return change()
				}
				return nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			want := k + 2
			if k >= data-1 {
				want = 0 // lost
			}
			if r.FirstInterrupted != want || r.DoneInterrupted {
				t.Errorf("change after chunk %d of %d (run %d): flag on chunk %d (done %v), want %d",
					k, data, run, r.FirstInterrupted, r.DoneInterrupted, want)
			}
		}
	}
}

// TestRootAddressCursorIsPositional pins down why address dumps can be
// wrong on every kernel: a device's addresses are walked by position, and
// IPv6 puts a new global address at the front of the list, so an address
// added after chunk 1 makes the dump return an address of chunk 1 again.
func TestRootAddressCursorIsPositional(t *testing.T) {
	path := testenv.NetNS(t)
	c, err := Dial(Target{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var stable []Key
	for i := 1; i <= 1000; i++ {
		p := netip.MustParsePrefix(fmt.Sprintf("fd00::%x/128", i))
		must(t, c.AddAddr(1, p))
		stable = append(stable, Key{Kind: Addr6, Index: 1, Prefix: p})
	}
	writer, err := Dial(Target{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	r, err := c.Dump(context.Background(), Addr6, Options{OnChunk: func(ch Chunk) error {
		if ch.Index == 1 {
			return writer.AddAddr(1, netip.MustParsePrefix("fd00:ff::1/128"))
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	cons := Check(r, stable)
	t.Logf("%d chunks, flag on chunk %d, missing %d, repeated %v", len(r.Chunks), r.FirstInterrupted, len(cons.Missing), cons.Repeated)
	if len(cons.Repeated) != 1 || len(cons.Missing) != 0 {
		t.Errorf("want exactly one repeated address; got missing %v, repeated %v", cons.Missing, cons.Repeated)
	}
	// The flag is not pinned: on 6.18 about one run in ten carries none
	// although the dump is wrong (the same unflagged wrong address dumps
	// the churn figures show), so requiring it made the test flaky.
	if r.FirstInterrupted == 0 {
		t.Log("the dump repeated an address and carried no flag")
	}
}
