//go:build linux

package probe

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nltrace/nltrace/internal/netns"
)

// followEvery is how often a probe watching every namespace looks for
// namespaces made or gone since: a namespace's changes are missed until
// its listener opens.
const followEvery = time.Second

// follow keeps one listener in each network namespace there is: it opens
// one in each namespace that appeared since the last look, and closes
// those of namespaces no name or process refers to any more, which their
// socket alone would otherwise keep alive (with their devices). It
// returns the namespaces it could not listen in for the first time.
func (p *Probe) follow() []error {
	spaces := netNamespaces()
	present := make(map[uint64]string, len(spaces))
	for _, n := range spaces {
		present[n.ino] = n.path
	}
	p.listenMu.Lock()
	defer p.listenMu.Unlock()
	var keep, gone []*listener
	for _, l := range p.listen {
		if _, ok := present[l.netns]; ok {
			keep = append(keep, l)
			delete(present, l.netns)
		} else {
			gone = append(gone, l)
		}
	}
	for _, l := range gone {
		p.ready.Listeners.Delete(l.key)
		// A namespace made later may get the same inode.
		delete(p.notices.ns, l.netns)
		p.closedOverruns += l.overruns.Load()
	}
	// Closing a socket of ours fails only on a bug; the namespace is
	// gone anyway.
	closeListeners(gone)
	p.listen = keep
	for ino := range p.unheard {
		if _, ok := present[ino]; !ok {
			delete(p.unheard, ino)
		}
	}
	var errs []error
	for ino, path := range present {
		f, err := netns.Open(path)
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, netns.ErrNotNetNS) && strings.HasPrefix(path, netns.Dir) {
			continue // gone while we looked, or a name not bound yet (ip netns add)
		}
		if err == nil {
			err = p.listenIn(f, ino)
		}
		switch {
		case err == nil:
			delete(p.unheard, ino)
		case !p.unheard[ino]:
			// Said once; tried again at every look.
			p.unheard[ino] = true
			errs = append(errs, fmt.Errorf("network namespace %d: %w", ino, err))
		}
	}
	return errs
}

// followNow follows the namespaces when it is time to.
func (p *Probe) followNow() {
	if !p.followAll || time.Since(p.followed) < followEvery {
		return
	}
	errs := p.follow()
	p.followed = time.Now()
	p.listenMu.Lock()
	p.followErrs = append(p.followErrs, errs...)
	p.listenMu.Unlock()
}

// TakeFollowErrors returns the namespaces the listeners could not open
// in since the last call: their changes go unexplained.
func (p *Probe) TakeFollowErrors() []error {
	p.listenMu.Lock()
	defer p.listenMu.Unlock()
	errs := p.followErrs
	p.followErrs = nil
	return errs
}
