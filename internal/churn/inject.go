package churn

import (
	"errors"

	"github.com/nltrace/nltrace/nlclient"
)

// The objects Inject adds, one per counter.
const (
	injectLink = iota
	injectAddr4
	injectAddr6
	injectNexthop
	numInject
)

const (
	injectName      = "ch-inject"
	injectNexthopID = 1<<25 - 1
)

// Inject makes exactly one change that moves the counter a dump of kind k
// checks: it adds a link, address or nexthop of its own. Revert removes it
// again between dumps, so that every dump starts from the same tables.
// Routes and neighbours have no counter; they get an address or a link.
func (e *Engine) Inject(k nlclient.Kind) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	what := injectLink
	switch k {
	case nlclient.Addr4, nlclient.Route4:
		what = injectAddr4
	case nlclient.Addr6, nlclient.Route6:
		what = injectAddr6
	case nlclient.Nexthop:
		what = injectNexthop
	}
	if e.injected[what] {
		return errors.New("the injected change of the previous dump was not reverted")
	}
	var err error
	switch what {
	case injectAddr4:
		err = e.ctl.AddAddr(e.linkIdx[0], churnAddr4(0xfffe))
	case injectAddr6:
		err = e.ctl.AddAddr(e.linkIdx[0], churnAddr6(0xfffe))
	case injectNexthop:
		err = e.ctl.AddNexthop(injectNexthopID)
	default:
		err = e.ctl.AddLink(injectName, e.kind, injectName+"-p")
	}
	if err == nil {
		e.injected[what] = true
	}
	return err
}

// Revert removes what Inject added.
func (e *Engine) Revert() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	for what, on := range e.injected {
		if !on {
			continue
		}
		var err error
		switch what {
		case injectAddr4:
			err = e.ctl.DeleteAddr(e.linkIdx[0], churnAddr4(0xfffe))
		case injectAddr6:
			err = e.ctl.DeleteAddr(e.linkIdx[0], churnAddr6(0xfffe))
		case injectNexthop:
			err = e.ctl.DeleteNexthop(injectNexthopID)
		default:
			var idx int32
			if idx, err = e.ctl.LinkIndex(injectName); err == nil {
				err = e.ctl.DeleteLink(idx)
			}
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		e.injected[what] = false
	}
	return errors.Join(errs...)
}
