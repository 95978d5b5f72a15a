// Package netns creates, enters, lists and removes named network namespaces
// (bound under /run/netns, where iproute2 keeps them too). The calling
// goroutine's thread never changes namespace: Do and Create move a thread of
// their own there and back.
//
// /run/netns is made a shared mount point of its own before anything is
// bound there, as `ip netns add` does; otherwise the first `ip netns add` on
// the machine binds /run/netns over itself and hides every bind made before
// it, which can then be neither reached nor removed by path. Delete and
// List reach such hidden binds too (see dir.go).
package netns

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Dir is where named namespaces are bound, as `ip netns` does.
const Dir = "/run/netns"

// Path returns the bind path of the named namespace.
func Path(name string) string { return filepath.Join(Dir, name) }

func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return fmt.Errorf("invalid namespace name %q", name)
	}
	return nil
}

// Create makes a new network namespace bound at /run/netns/NAME and returns
// that path. The caller's threads stay in their namespace. Nothing marks
// the namespace as in use: see CreateHeld.
func Create(name string) (string, error) {
	f, err := CreateHeld(name)
	if err != nil {
		return "", err
	}
	f.Close()
	return Path(name), nil
}

// bindNew binds a fresh network namespace at path and returns it open and
// locked: the lock is taken before the bind, so no other process ever sees
// the namespace unlocked. Only the thread that unshares it ever enters it,
// and that thread goes back.
func bindNew(path string) (*os.File, error) {
	var ns *os.File
	err := onThread(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("unshare: %w", err)
		}
		fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open the new namespace: %w", ProcHint(err))
		}
		f := os.NewFile(uintptr(fd), path)
		if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
			f.Close()
			return fmt.Errorf("lock the new namespace: %w", err)
		}
		if err := unix.Mount("/proc/thread-self/ns/net", path, "none", unix.MS_BIND, ""); err != nil {
			f.Close()
			return fmt.Errorf("bind mount: %w", err)
		}
		ns = f
		return nil
	})
	return ns, err
}

// maxStacked bounds the unmounts of one path: binds can stack there (a
// name bound twice), but not without end.
const maxStacked = 64

// Delete unbinds and removes the named namespace, binds hidden under a
// later mount of /run/netns included. The kernel frees the namespace once
// no process or socket holds it any more.
func Delete(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	path := Path(name)
	for range maxStacked {
		err := unix.Unmount(path, unix.MNT_DETACH)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			break // not (or no longer) a mount point
		}
		if err != nil {
			return fmt.Errorf("unmount namespace %s: %w", name, hint(err))
		}
	}
	var errs []error
	d, err := readDirMounts()
	if err != nil {
		errs = append(errs, err)
	} else if d != nil {
		errs = append(errs, d.unmountHidden(name)...)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		if errors.Is(err, unix.EBUSY) {
			return errors.Join(append(errs, busy(name, err))...)
		}
		return errors.Join(append(errs, fmt.Errorf("remove namespace %s: %w", name, hint(err)))...)
	}
	return nil
}

// List returns the names of the namespaces under /run/netns that start with
// prefix: the files there and the binds the mount table shows, also those
// hidden under a later mount of /run/netns.
func List(prefix string) ([]string, error) {
	entries, err := os.ReadDir(Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	d, err := readDirMounts()
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	if d != nil {
		names = append(names, d.names()...)
	}
	names = slices.DeleteFunc(names, func(n string) bool { return !strings.HasPrefix(n, prefix) })
	slices.Sort(names)
	return slices.Compact(names), nil
}

// Inode returns the namespace inode of an open namespace file, the number
// the kernel (and the BPF probe) uses to name a namespace.
func Inode(f *os.File) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return 0, fmt.Errorf("stat namespace %s: %w", f.Name(), err)
	}
	return st.Ino, nil
}

func hint(err error) error { return hintFor(err, os.Geteuid()) }

// hintFor adds what the user can do about a refused operation. Root is
// refused too, in a container or user namespace without CAP_SYS_ADMIN or
// under a security module, and must not be told to become root.
func hintFor(err error, euid int) error {
	if !errors.Is(err, unix.EPERM) && !errors.Is(err, os.ErrPermission) {
		return err
	}
	if euid == 0 {
		return fmt.Errorf("%w (refused to root: a container, a user namespace without CAP_SYS_ADMIN or a security module forbids it here)", err)
	}
	return fmt.Errorf("%w (network namespaces need root or CAP_SYS_ADMIN: run with sudo)", err)
}
