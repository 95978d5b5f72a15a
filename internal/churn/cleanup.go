package churn

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/nltrace/nltrace/internal/netns"
)

// Leftover is a namespace of this package that no live run holds.
type Leftover struct {
	Name string
	PID  int // the pid in its name, in the PID namespace its run had
}

func leftover(name string) Leftover {
	pid, _ := Owner(name)
	return Leftover{Name: name, PID: pid}
}

// Leftovers lists the namespaces that no live run holds, hidden binds
// under /run/netns included (netns.List). A run holds a lock on each of
// its namespaces for as long as it lives (netns.CreateHeld), which the
// kernel drops when it dies. Versions before took no lock but kept their
// namespaces open for the whole run: a namespace named as they named
// theirs counts as live while the process with the pid in its name holds
// it open.
func Leftovers() ([]Leftover, error) {
	names, err := netns.List(Prefix)
	if err != nil {
		return nil, err
	}
	var out []Leftover
	var errs []error
	for _, name := range names {
		f, _, ok, err := claim(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			f.Close()
			out = append(out, leftover(name))
		}
	}
	return out, errors.Join(errs...)
}

// claim takes the lock of a namespace unless a live run holds it (ok
// false). The caller closes the file, which releases the lock.
func claim(name string) (f *os.File, ino uint64, ok bool, err error) {
	f, ino, err = netns.Claim(name)
	switch {
	case errors.Is(err, netns.ErrInUse), errors.Is(err, os.ErrNotExist):
		return nil, 0, false, nil // live, or removed by its run meanwhile
	case err != nil:
		return nil, 0, false, err
	}
	// This process is no older version's run, and holds the namespace now.
	if pid, _ := Owner(name); legacyName.MatchString(name) && ino != 0 && pid != os.Getpid() && netns.Keeps(pid, ino) {
		f.Close()
		return nil, 0, false, nil
	}
	return f, ino, true, nil
}

// Removal is what Cleanup did about one leftover.
type Removal struct {
	Leftover
	// Ended are the processes that were inside it, killed: a program that
	// --exec started outlives a killed nltrace and keeps the namespace and
	// its links alive.
	Ended []netns.Process
	// Err says what is left of it; nil when nothing is.
	Err error
}

// endTimeout bounds the wait for killed processes to exit.
const endTimeout = 5 * time.Second

// Cleanup removes every leftover: it kills the processes inside, unbinds
// and removes the namespace, then checks that nothing keeps it. A
// namespace it could not remove comes back with its Err set; the error is
// for a failure to list them at all, or to touch them at all (not root).
func Cleanup() ([]Removal, error) {
	names, err := netns.List(Prefix)
	if err != nil {
		return nil, err
	}
	var out []Removal
	for _, name := range names {
		f, ino, ok, err := claim(name)
		if errors.Is(err, os.ErrPermission) {
			return out, err // the same for every other name: said once
		}
		if err != nil {
			out = append(out, Removal{Leftover: leftover(name), Err: err})
			continue
		}
		if ok {
			out = append(out, remove(leftover(name), f, ino))
		}
	}
	return out, nil
}

// remove removes one claimed leftover and closes f, its lock.
func remove(l Leftover, f *os.File, ino uint64) Removal {
	r := Removal{Leftover: l}
	var errs []error
	if ino != 0 {
		ps, err := netns.Processes(ino)
		errs = append(errs, err)
		r.Ended, err = netns.End(ps, ino, endTimeout)
		errs = append(errs, err)
	}
	err := netns.Delete(l.Name)
	errs = append(errs, err)
	f.Close()
	if err == nil {
		errs = append(errs, gone(l.Name, ino))
	}
	r.Err = errors.Join(errs...)
	return r
}

// gone checks that nothing is left of a removed namespace: no name, no
// bind, no process inside or holding it open.
func gone(name string, ino uint64) error {
	names, err := netns.List(name)
	if err != nil {
		return err
	}
	if slices.Contains(names, name) {
		return fmt.Errorf("%s is still under %s after its removal", name, netns.Dir)
	}
	if ino == 0 {
		return nil
	}
	ps, err := netns.Processes(ino)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range ps {
		if p.Inside {
			errs = append(errs, fmt.Errorf("%s is still inside %s", p, name))
			continue
		}
		errs = append(errs, fmt.Errorf("%s holds %s open, which keeps it and its links alive: end it, then run `nltrace cleanup` again", p, name))
	}
	return errors.Join(errs...)
}
