package monitor

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"time"
)

// process is a process holding a socket.
type process struct {
	pid  int
	comm string
}

// procs maps socket inodes to the processes holding them, from a scan of
// /proc/*/fd. Scans are costly, so the map is kept and scanned again only
// on a miss, and only when the last scan is older than the event: a
// socket a later scan did not find is gone.
type procs struct {
	proc    string // /proc
	byInode map[uint64]process
	scanned time.Time
	// denied is set when the last scan could not read some processes'
	// descriptors (not root): a socket not found may be theirs.
	denied bool
}

func newProcs() *procs { return &procs{proc: "/proc"} }

// lookup finds the process holding the socket inode, for an event read at
// t. A process found earlier must still exist.
func (p *procs) lookup(inode uint64, t time.Time) (process, bool) {
	if pr, ok := p.byInode[inode]; ok && p.alive(pr) {
		return pr, true
	}
	if p.scanned.After(t) {
		return process{}, false
	}
	p.scan()
	pr, ok := p.byInode[inode]
	return pr, ok
}

// missing says why a socket was not found.
func (p *procs) missing() string {
	if p.denied {
		return "process not found: other processes' descriptors are unreadable without root"
	}
	return "process gone"
}

func (p *procs) alive(pr process) bool {
	_, err := os.Stat(p.proc + "/" + strconv.Itoa(pr.pid))
	return err == nil
}

// scan reads every process's descriptors. Processes that end meanwhile, or
// that this user may not read, are skipped.
func (p *procs) scan() {
	p.scanned = time.Now()
	p.byInode = map[uint64]process{}
	p.denied = false
	entries, err := os.ReadDir(p.proc)
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := p.proc + "/" + e.Name()
		fds, err := os.ReadDir(dir + "/fd")
		if err != nil {
			p.denied = p.denied || errors.Is(err, os.ErrPermission)
			continue
		}
		var comm string
		for _, fd := range fds {
			link, err := os.Readlink(dir + "/fd/" + fd.Name())
			if err != nil {
				continue
			}
			s, ok := strings.CutPrefix(link, "socket:[")
			if !ok {
				continue
			}
			inode, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64)
			if err != nil {
				continue
			}
			if _, seen := p.byInode[inode]; seen {
				// Shared after a fork: the first (usually the parent) names it.
				continue
			}
			if comm == "" {
				b, _ := os.ReadFile(dir + "/comm")
				comm = strings.TrimSpace(string(b))
			}
			p.byInode[inode] = process{pid: pid, comm: comm}
		}
	}
}
