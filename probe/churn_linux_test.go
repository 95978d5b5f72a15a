//go:build linux

package probe_test

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"

	"github.com/nltrace/nltrace/internal/correlate"
	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

// churn adds and removes a device (of the kind given, see linkKind), an
// IPv4 and an IPv6 address and a nexthop in a loop until ctx ends.
func churn(ctx context.Context, c *nlclient.Client, kind string) error {
	for i := 0; ctx.Err() == nil; i++ {
		name := fmt.Sprintf("churn%d", i%4)
		v4 := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 200, byte(i >> 8), byte(i)}), 32)
		v6 := netip.MustParsePrefix(fmt.Sprintf("2001:db8:c::%x/128", i%0xffff+1))
		id := uint32(1000 + i%4)
		steps := []func() error{
			func() error { _, err := addLink(c, kind, name); return err },
			func() error { return c.AddAddr(1, v4) },
			func() error { return c.AddAddr(1, v6) },
			func() error { return c.AddNexthop(id) },
			func() error {
				idx, err := c.LinkIndex(name)
				if err != nil {
					return err
				}
				return c.DeleteLink(idx)
			},
			func() error { return c.DeleteAddr(1, v4) },
			func() error { return c.DeleteAddr(1, v6) },
			func() error { return c.DeleteNexthop(id) },
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestChurn dumps links and addresses while another client changes them,
// and checks that every interrupted dump is explained by kernel events
// and that every chunk the kernel flagged is the one userspace saw.
func TestChurn(t *testing.T) {
	cs, inode := testNetNSClients(t, 3)
	dumper, mod, churner := cs[0], cs[1], cs[2]
	addLinks(t, mod, "d", 150)
	addAddrs(t, mod, "10.0.0.0", 800)
	addAddrs(t, mod, "2001:db8::", 600)
	kinds := []nlclient.Kind{nlclient.Link, nlclient.Addr4, nlclient.Addr6}
	// At least this many rounds, and more (up to maxRounds) until a link
	// dump is interrupted: veth pairs, where there is no dummy driver,
	// churn slower.
	const rounds, maxRounds = 12, 400

	variants := []struct {
		name string
		b    probe.Backend
		raw  bool // bpf/ready.c as a raw tracepoint, as where tracing programs are refused
	}{{"fentry", probe.Fentry, false}, {"kprobe", probe.Kprobe, false}, {"tracepoint", probe.Tracepoint, false},
		{"tracepoint-raw", probe.Tracepoint, true}}
	for _, v := range variants {
		b := v.b
		t.Run(v.name, func(t *testing.T) {
			if v.raw {
				probe.UseRawTracepoint(t)
			}
			kinds := kinds
			r := record(t, b, probe.Config{NetNS: inode})
			if v.raw && r.p.Hooks != probe.ReadyHooks {
				r.stop(t)
				t.Skip("no sock:sk_data_ready here: the tracepoint backend is on syscalls")
			}
			if r.p.Hooks == probe.SyscallHooks {
				// The IPv6 addresses just added complete duplicate address
				// detection in a kernel worker during the dumps: bumps no
				// syscall shows (Probe.Limits).
				kinds = kinds[:2]
			}
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			var churnErr error
			kind := linkKind(t, churner)
			wg.Go(func() { churnErr = churn(ctx, churner, kind) })
			var results []*nlclient.Result
			linkInterrupted := false
			for i := 0; i < rounds || !linkInterrupted && i < maxRounds; i++ {
				for _, k := range kinds {
					res, err := dumper.Dump(context.Background(), k, nlclient.Options{})
					if err != nil {
						cancel()
						t.Fatal(err)
					}
					results = append(results, res)
					linkInterrupted = linkInterrupted || k == nlclient.Link && res.Interrupted()
				}
			}
			cancel()
			wg.Wait()
			r.stop(t)
			if churnErr != nil {
				t.Fatalf("churn: %v", churnErr)
			}

			dumps := correlate.Join(results, r.coll.Samples(), r.coll.Writers())
			// Known gap of the sk_data_ready design, found at 0c96d24 too:
			// in about one run in sixteen, one IPv6 address bump of the
			// first churn rounds has no notice (issue 11's closing note).
			addr6Gap := r.p.Hooks == probe.ReadyHooks
			for _, d := range dumps {
				if d.Missing != "" || len(d.Mismatches) > 0 {
					t.Errorf("%v dump %d: kernel and userspace disagree: %s %v", d.Kind, d.Seq, d.Missing, d.Mismatches)
				}
				switch {
				case !d.Interrupted() || d.Explained():
				case addr6Gap && d.Kind == nlclient.Addr6:
					addr6Gap = false
					t.Logf("%v dump %d interrupted but not explained (the known gap): %v", d.Kind, d.Seq, d.Interruptions)
				default:
					t.Errorf("%v dump %d interrupted but not explained: %v", d.Kind, d.Seq, d.Interruptions)
				}
			}
			sums := correlate.Summarize(dumps, 3)
			for _, s := range sums {
				t.Logf("%v: %d dumps, %d interrupted, %d explained, %d lost flags, culprits %v", s.Kind, s.Dumps, s.Interrupted, s.Explained, s.Lost, s.Culprits)
			}
			if sums[0].Kind != nlclient.Link || sums[0].Interrupted == 0 {
				t.Errorf("no link dump was interrupted: the churn proves nothing")
			}
		})
	}
}
