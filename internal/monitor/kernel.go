package monitor

import (
	"context"
	"fmt"

	"github.com/nltrace/nltrace/nlclient"
)

// KernelChanges watches the changes the kernel makes by itself in a
// namespace (IPv6 duplicate address detection, devices going with their
// namespace), which the probe's tracepoint backend, seeing only requests,
// does not: notifications that carry no requester's port id.
type KernelChanges struct {
	m    *Monitor
	stop context.CancelFunc
	done chan error
}

// WatchKernelChanges hands fn a notified probe.Writer (Event.KernelWriter)
// for each change the kernel makes by itself in the namespace at nsPath,
// whose inode is inode, until Close.
func WatchKernelChanges(nsPath string, inode uint64, fn func(any)) (*KernelChanges, error) {
	ctx, stop := context.WithCancel(context.Background())
	m, err := Open(ctx, Config{
		Kinds:  []nlclient.Kind{nlclient.Link, nlclient.Addr4, nlclient.Addr6, nlclient.Nexthop},
		Target: nlclient.Target{Path: nsPath},
	})
	if err != nil {
		stop()
		return nil, fmt.Errorf("watch the kernel's own changes: %w", err)
	}
	k := &KernelChanges{m: m, stop: stop, done: make(chan error, 1)}
	go func() {
		k.done <- m.Run(ctx, func(e Event) {
			if w := e.KernelWriter(inode); w != nil {
				fn(w)
			}
		})
	}()
	return k, nil
}

// Close stops the watch and says what it missed.
func (k *KernelChanges) Close() []string {
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
