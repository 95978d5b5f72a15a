package run

import (
	"context"
	"fmt"

	"github.com/nltrace/nltrace/internal/monitor"
	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

// kernelChanges watches the changes the kernel makes by itself in the
// run's namespace (IPv6 duplicate address detection, devices going with
// their namespace), which the tracepoint backend, seeing only requests,
// does not: rtnetlink notifications that carry no requester's port id.
type kernelChanges struct {
	m    *monitor.Monitor
	stop context.CancelFunc
	done chan error
}

// watchKernelChanges hands fn a notified probe.Writer for each change the
// kernel makes by itself in the namespace at nsPath (inode).
func watchKernelChanges(nsPath string, inode uint64, fn func(any)) (*kernelChanges, error) {
	ctx, stop := context.WithCancel(context.Background())
	m, err := monitor.Open(ctx, monitor.Config{
		Kinds:  []nlclient.Kind{nlclient.Link, nlclient.Addr4, nlclient.Addr6, nlclient.Nexthop},
		Target: nlclient.Target{Path: nsPath},
	})
	if err != nil {
		stop()
		return nil, fmt.Errorf("watch the kernel's own changes: %w", err)
	}
	k := &kernelChanges{m: m, stop: stop, done: make(chan error, 1)}
	go func() {
		k.done <- m.Run(ctx, func(e monitor.Event) {
			if w := kernelWriter(e, inode); w != nil {
				fn(w)
			}
		})
	}()
	return k, nil
}

// close stops the watch and says what it missed.
func (k *kernelChanges) close() []string {
	k.stop()
	var errs []string
	if err := <-k.done; err != nil {
		errs = append(errs, fmt.Sprintf("watching the kernel's own changes: %v", err))
	}
	if s := k.m.Stats(); s.Overruns > 0 {
		errs = append(errs, fmt.Sprintf("watching the kernel's own changes: %d notification overruns, %d notifications lost", s.Overruns, s.Lost))
	}
	if err := k.m.Close(); err != nil {
		errs = append(errs, fmt.Sprintf("watching the kernel's own changes: %v", err))
	}
	return errs
}

// kernelWriter is the counter bump a notification stands for, when it
// names no requester (nil otherwise). Many requests' notifications name
// none either: IPv6 addresses' never do, links' only with NLM_F_ECHO on
// 6.3+ (docs/monitor.md). That is why a join uses these only for bumps
// no request accounts for (correlate's writerLookup.notified).
func kernelWriter(e monitor.Event, inode uint64) *probe.Writer {
	if e.PortID != 0 {
		return nil
	}
	w := &probe.Writer{Time: uint64(e.MonoNS), NetNS: inode, Ifindex: e.Ifindex, Ifname: e.Ifname,
		Comm: "kernel", Notified: true, Context: probe.ContextUnknown}
	if e.Prefix.IsValid() {
		w.Addr, w.PrefixLen = e.Prefix.Addr(), e.Prefix.Bits()
	}
	ops := map[nlclient.Kind]map[monitor.Action]probe.Op{
		nlclient.Link:    {monitor.New: probe.Register, monitor.Del: probe.Unregister},
		nlclient.Addr4:   {monitor.New: probe.Addr4Add, monitor.Del: probe.Addr4Del},
		nlclient.Addr6:   {monitor.New: probe.Addr6New, monitor.Del: probe.Addr6Del},
		nlclient.Nexthop: {monitor.New: probe.NexthopNew, monitor.Del: probe.NexthopDel},
	}[e.Kind]
	op, ok := ops[e.Action]
	if !ok {
		return nil
	}
	w.Op = op
	w.Counter = map[nlclient.Kind]probe.Counter{
		nlclient.Link: probe.DevBaseSeq, nlclient.Addr4: probe.AddrGenID4,
		nlclient.Addr6: probe.AddrGenID6, nlclient.Nexthop: probe.NexthopSeq,
	}[e.Kind]
	return w
}
