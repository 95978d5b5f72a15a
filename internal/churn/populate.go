package churn

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/nlclient"
)

// populateSockets is how many requests are in flight while populating: the
// kernel serialises them on RTNL, but each socket's round trip (and a veth
// delete's RCU wait) overlaps the others'.
const populateSockets = 8

// stableName names the populated devices; churn devices are named ch-*.
func stableName(i int) string { return fmt.Sprintf("st-%d", i) }

func (e *Engine) populate(ctx context.Context) error {
	// Blackhole nexthops use lo, which must be up; it is index 1 in every
	// namespace.
	if err := e.ctl.SetLinkUp(1, true); err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	if err := e.resolveKind(); err != nil {
		return err
	}
	step, what := 1, e.kind+" links"
	if e.kind == "veth" {
		step, what = 2, "veth pairs" // each pair is two devices
	}
	pairs := (e.cfg.Links + step - 1) / step
	err := e.parallel(ctx, what, pairs, func(c *nlclient.Client, i int) error {
		if i == 0 {
			return nil // made when the kind was resolved
		}
		return addStable(c, e.kind, i*step)
	})
	if err != nil {
		return err
	}
	if err := e.indexLinks(ctx); err != nil {
		return err
	}
	host := e.linkIdx[0]
	err = e.parallel(ctx, "IPv4 addresses", e.cfg.Addrs, func(c *nlclient.Client, i int) error {
		return c.AddAddr(host, stableAddr4(i))
	})
	if err != nil {
		return err
	}
	err = e.parallel(ctx, "IPv6 addresses", e.cfg.Addrs6, func(c *nlclient.Client, i int) error {
		return c.AddAddr(host, stableAddr6(i))
	})
	if err != nil {
		return err
	}
	err = e.parallel(ctx, "nexthops", e.cfg.Nexthops, func(c *nlclient.Client, i int) error {
		return c.AddNexthop(uint32(i + 1))
	})
	if err != nil {
		return fmt.Errorf("%w (nexthops need Linux 5.3 or later)", err)
	}
	err = e.parallel(ctx, "neighbours", e.cfg.Neighs, func(c *nlclient.Client, i int) error {
		return c.AddNeigh(host, stableNeigh(i))
	})
	if err != nil {
		return err
	}
	for i := range e.cfg.Addrs {
		e.stable[nlclient.Addr4] = append(e.stable[nlclient.Addr4], nlclient.Key{Kind: nlclient.Addr4, Index: host, Prefix: stableAddr4(i)})
	}
	for i := range e.cfg.Addrs6 {
		e.stable[nlclient.Addr6] = append(e.stable[nlclient.Addr6], nlclient.Key{Kind: nlclient.Addr6, Index: host, Prefix: stableAddr6(i)})
	}
	for i := range e.cfg.Neighs {
		e.stable[nlclient.Neigh] = append(e.stable[nlclient.Neigh], nlclient.Key{Kind: nlclient.Neigh, Index: host, Prefix: netip.PrefixFrom(stableNeigh(i), 32)})
	}
	for i := range e.cfg.Nexthops {
		e.stable[nlclient.Nexthop] = append(e.stable[nlclient.Nexthop], nlclient.Key{Kind: nlclient.Nexthop, ID: uint32(i + 1)})
	}
	return e.snapshotRoutes(ctx)
}

// snapshotRoutes takes the routes present once populated as the stable
// ones: the kernel made them for the stable addresses and links, and no
// churn operation touches those (up/down never toggles the first link,
// which holds the addresses; the others have no routes while down).
func (e *Engine) snapshotRoutes(ctx context.Context) error {
	for _, k := range []nlclient.Kind{nlclient.Route4, nlclient.Route6} {
		r, err := e.ctl.Dump(ctx, k, nlclient.Options{Policy: nlclient.Retry, Attempts: 100})
		if err != nil {
			return fmt.Errorf("list the populated %v: %w", k, err)
		}
		for _, o := range r.Objects {
			e.stable[k] = append(e.stable[k], o.Key())
		}
	}
	return nil
}

// resolveKind creates the first stable device, which also tells whether the
// kernel has the wanted kind; "auto" prefers dummy, the cheapest device.
func (e *Engine) resolveKind() error {
	e.kind = e.cfg.LinkKind
	if e.kind == "auto" {
		e.kind = "dummy"
		err := addStable(e.ctl, e.kind, 0)
		if err == nil || !unknownKind(err) {
			return err
		}
		e.kind = "veth"
	}
	if err := addStable(e.ctl, e.kind, 0); err != nil {
		if unknownKind(err) {
			return fmt.Errorf("%w: this kernel has no %q links (load its module, or choose veth links)", err, e.kind)
		}
		return err
	}
	return nil
}

func unknownKind(err error) bool {
	return errors.Is(err, unix.EOPNOTSUPP) || strings.Contains(err.Error(), "Unknown device type")
}

// addStable adds stable device i (and its peer i+1 for veth).
func addStable(c *nlclient.Client, kind string, i int) error {
	return c.AddLink(stableName(i), kind, stableName(i+1))
}

// indexLinks records the stable links' indexes: lo plus every st-* device.
func (e *Engine) indexLinks(ctx context.Context) error {
	r, err := e.ctl.Dump(ctx, nlclient.Link, nlclient.Options{Policy: nlclient.Retry, Attempts: 100})
	if err != nil {
		return fmt.Errorf("list the populated links: %w", err)
	}
	byName := map[string]int32{}
	e.stable = map[nlclient.Kind][]nlclient.Key{}
	for _, o := range r.Objects {
		if o.Name != "lo" && !strings.HasPrefix(o.Name, "st-") {
			continue
		}
		byName[o.Name] = o.Index
		e.stable[nlclient.Link] = append(e.stable[nlclient.Link], nlclient.Key{Kind: nlclient.Link, Index: o.Index})
		e.stable[nlclient.Stats] = append(e.stable[nlclient.Stats], nlclient.Key{Kind: nlclient.Stats, Index: o.Index})
	}
	for i := 0; ; i++ {
		idx, ok := byName[stableName(i)]
		if !ok {
			break
		}
		e.linkIdx = append(e.linkIdx, idx)
	}
	if len(e.linkIdx) < e.cfg.Links {
		return fmt.Errorf("populated %d links, found %d", e.cfg.Links, len(e.linkIdx))
	}
	return nil
}

// parallel runs fn for 0..n-1 over several sockets and reports progress.
func (e *Engine) parallel(ctx context.Context, what string, n int, fn func(c *nlclient.Client, i int) error) error {
	if n <= 0 {
		return nil
	}
	var next, done atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, populateSockets)
	for w := range min(populateSockets, n) {
		wg.Go(func() {
			c, err := nlclient.Dial(e.Target())
			if err != nil {
				errs[w] = err
				return
			}
			defer c.Close()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(c, i); err != nil {
					errs[w] = fmt.Errorf("populate %s: %w", what, err)
					next.Store(int64(n)) // stop the others
					return
				}
				if d := int(done.Add(1)); e.cfg.Progress != nil && (d%100 == 0 || d == n) {
					e.cfg.Progress(what, d, n)
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}

// Stable addresses count up from 10.0.0.1 and fd00::1; churn ones live in
// 10.255.0.0/16 and fd00:ff::/64 so that they never collide.
func stableAddr4(i int) netip.Prefix {
	v := uint32(10<<24) + uint32(i) + 1
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), 32)
}

func stableAddr6(i int) netip.Prefix {
	b := [16]byte{0: 0xfd}
	v := uint32(i) + 1
	b[12], b[13], b[14], b[15] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	return netip.PrefixFrom(netip.AddrFrom16(b), 128)
}

// Neighbours live in 172.16.0.0/12, apart from every address above.
func stableNeigh(i int) netip.Addr {
	v := uint32(172<<24|16<<16) + uint32(i) + 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func churnNeigh(w int) netip.Addr { return netip.AddrFrom4([4]byte{172, 31, byte(w >> 8), byte(w)}) }

func churnAddr4(w int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 255, byte(w >> 8), byte(w)}), 32)
}

func churnAddr6(w int) netip.Prefix {
	b := [16]byte{0: 0xfd, 3: 0xff}
	b[14], b[15] = byte(w>>8), byte(w)
	return netip.PrefixFrom(netip.AddrFrom16(b), 128)
}
