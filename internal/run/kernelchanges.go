package run

import (
	"context"
	"fmt"

	"github.com/nltrace/nltrace/internal/monitor"
	"github.com/nltrace/nltrace/nlclient"
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
			if w := e.KernelWriter(inode); w != nil {
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
