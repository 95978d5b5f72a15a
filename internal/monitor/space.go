package monitor

import (
	"context"
	"os"
	"time"

	"github.com/nltrace/nltrace/internal/netns"
	"github.com/nltrace/nltrace/nlclient"
)

// portsFresh is how long a list of port ids is trusted for a port id it
// holds. A port id can be reused once its socket is closed; within this
// window the cached socket is taken for the writer, which also names a
// short-lived writer (ip(8) exits right after its change) that a fresh
// list would miss.
const portsFresh = time.Second

// space is one network namespace that events come from: the monitored
// one, or (with AllNetNS) one that has an id there.
type space struct {
	nsid int32
	name string // under /run/netns, "" when not bound there
	// path reopens a foreign namespace when it is needed. The monitor keeps
	// no descriptor or socket of it between events: either would keep a
	// namespace alive that its owner deleted.
	path  string
	inode uint64
	// self is the monitored namespace: its file (nil for the caller's own),
	// sock_diag socket and dump client stay open.
	self   bool
	file   *os.File
	target nlclient.Target
	diag   *diag
	client *nlclient.Client

	ports   map[uint32]sockInfo
	portsAt time.Time
	links   map[int32]string
	linksAt time.Time
}

// withFile runs fn with the namespace open (nil: the caller's own).
func (s *space) withFile(fn func(*os.File) error) error {
	if s.self {
		return fn(s.file)
	}
	f, err := netns.Open(s.path)
	if err != nil {
		return err
	}
	defer f.Close()
	if ino, err := netns.Inode(f); err != nil || ino != s.inode {
		return errNamespaceGone
	}
	return fn(f)
}

// writer fills in the process of the event's port id.
func (s *space) writer(e *Event, ps *procs) {
	if e.PortID == 0 {
		return
	}
	info, ok := s.ports[e.PortID]
	if !ok && s.portsAt.Before(e.Time) || ok && time.Since(s.portsAt) > portsFresh {
		if err := s.listPorts(); err != nil {
			e.Unresolved = err.Error()
			return
		}
		info, ok = s.ports[e.PortID]
	}
	if !ok {
		e.Unresolved = "process gone"
		return
	}
	pr, ok := ps.lookup(info.inode, e.Time)
	if !ok {
		e.Unresolved = ps.missing()
		return
	}
	e.PID, e.Comm = pr.pid, pr.comm
}

func (s *space) listPorts() error {
	at := time.Now()
	var ports map[uint32]sockInfo
	err := s.withFile(func(f *os.File) error {
		d := s.diag
		if d == nil {
			var err error
			if d, err = dialDiag(f); err != nil {
				return err
			}
			if s.self {
				s.diag = d
			} else {
				defer d.close()
			}
		}
		var err error
		ports, err = d.sockets(false)
		return err
	})
	if err != nil {
		return err
	}
	s.ports, s.portsAt = ports, at
	return nil
}

// ifname names the event's device, from the links seen so far or a dump of
// the namespace's links.
func (s *space) ifname(ctx context.Context, e *Event) {
	if e.Ifindex == 0 || e.Ifname != "" {
		return
	}
	name, ok := s.links[e.Ifindex]
	if !ok && s.linksAt.Before(e.Time) {
		s.dumpLinks(ctx)
		name = s.links[e.Ifindex]
	}
	e.Ifname = name
}

// dumpLinks refreshes the names of the namespace's links; names stay
// unknown (ifN) when that fails.
func (s *space) dumpLinks(ctx context.Context) {
	at := time.Now()
	var r *nlclient.Result
	_ = s.withFile(func(f *os.File) error {
		c := s.client
		if c == nil {
			t := s.target
			if !s.self {
				t = nlclient.Target{Path: f.Name()}
			}
			var err error
			if c, err = nlclient.Dial(t); err != nil {
				return err
			}
			if s.self {
				s.client = c
			} else {
				defer c.Close()
			}
		}
		var err error
		r, err = c.Dump(ctx, nlclient.Link, nlclient.Options{})
		return err
	})
	if r == nil {
		return
	}
	s.setLinks(r.Objects)
	s.linksAt = at
}

func (s *space) setLinks(objs []nlclient.Object) {
	s.links = make(map[int32]string, len(objs))
	for _, o := range objs {
		s.links[o.Index] = o.Name
	}
}

// remember keeps link names current from link events.
func (s *space) remember(e Event) {
	if e.Kind != nlclient.Link || e.Ifindex == 0 {
		return
	}
	if s.links == nil {
		s.links = map[int32]string{}
	}
	if e.Action == Del {
		delete(s.links, e.Ifindex)
		return
	}
	if e.Ifname != "" {
		s.links[e.Ifindex] = e.Ifname
	}
}

func (s *space) close() {
	if s.diag != nil {
		s.diag.close()
	}
	if s.client != nil {
		s.client.Close()
	}
	if s.file != nil {
		s.file.Close()
	}
}
