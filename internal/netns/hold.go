package netns

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// A process says it uses a namespace by holding an exclusive flock(2) on
// it: on the namespace itself (its nsfs inode, the same through every path
// that reaches it), not on a file beside it, so that whoever sees the
// namespace sees the lock, from another mount or PID namespace too. The
// kernel drops the lock when the process dies, SIGKILL included; a pid
// could not say as much, since it means nothing in another PID namespace
// and comes back in the next container.

// ErrInUse says that a live process holds a namespace's lock.
var ErrInUse = errors.New("in use by a live process")

// CreateHeld makes a new network namespace bound at /run/netns/NAME, like
// Create, and returns it open and locked. The lock lasts until the file is
// closed or the process ends; Claim refuses the namespace meanwhile.
func CreateHeld(name string) (*os.File, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if err := makeMountPoint(); err != nil {
		return nil, err
	}
	path := Path(name)
	placeholder, err := newPlaceholder(path)
	if err != nil {
		return nil, fmt.Errorf("create namespace %s: %w", name, hint(err))
	}
	// Unlocked only once the namespace bound over it holds the lock.
	defer placeholder.Close()
	ns, err := bindNew(path)
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("create namespace %s: %w", name, hint(err))
	}
	return ns, nil
}

// newPlaceholder creates the file a namespace is then bound on, locked, so
// that a Claim between the two finds it in use. With O_TMPFILE the file
// gets its name only once locked; on a file system without it the lock
// comes a moment after the name.
func newPlaceholder(path string) (*os.File, error) {
	fd, err := unix.Open(Dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o444)
	if err != nil {
		if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EINVAL) {
			return nil, fmt.Errorf("create %s: %w", path, err)
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
		if err != nil {
			return nil, err
		}
		unix.Flock(int(f.Fd()), unix.LOCK_EX)
		return f, nil
	}
	f := os.NewFile(uintptr(fd), path)
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// linkat refuses an existing name: as exclusive as O_EXCL.
	if err := unix.Linkat(unix.AT_FDCWD, fmt.Sprintf("/proc/self/fd/%d", fd), unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW); err != nil {
		f.Close()
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return f, nil
}

// Claim opens the named namespace and takes its lock without waiting, for
// a process about to remove it: ErrInUse when a live process holds it. It
// returns the open file and the namespace's inode. A bind hidden under a
// later mount of /run/netns is opened where it was made. A name that binds
// no namespace (a removal cut short, or a namespace being created, whose
// file is locked until bound) comes back as that file, with inode 0. The
// lock lasts until the file is closed.
func Claim(name string) (*os.File, uint64, error) {
	if err := checkName(name); err != nil {
		return nil, 0, err
	}
	f, err := openName(name)
	if err != nil {
		return nil, 0, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, 0, fmt.Errorf("namespace %s: %w", name, ErrInUse)
		}
		return nil, 0, fmt.Errorf("lock namespace %s: %w", name, err)
	}
	if !isNS(f) {
		return f, 0, nil
	}
	ino, err := Inode(f)
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, ino, nil
}

// openName opens what the name binds: the namespace on its path, else one
// bound there and hidden, else the bare file.
func openName(name string) (*os.File, error) {
	f, err := openNoBlock(Path(name))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("open namespace %s: %w", name, hint(err))
	}
	if f != nil && isNS(f) {
		return f, nil
	}
	if d, derr := readDirMounts(); derr == nil && d != nil {
		binds := d.binds(name)
		for i := len(binds) - 1; i >= 0; i-- {
			if h, herr := d.openHidden(binds[i]); herr == nil {
				if isNS(h) {
					if f != nil {
						f.Close()
					}
					return h, nil
				}
				h.Close()
			}
		}
	}
	if f == nil {
		return nil, fmt.Errorf("open namespace %s: %w", name, err)
	}
	return f, nil
}

// openNoBlock opens path read-only without blocking on a FIFO and without
// following a symbolic link out of /run/netns.
func openNoBlock(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

func isNS(f *os.File) bool {
	var fs unix.Statfs_t
	return unix.Fstatfs(int(f.Fd()), &fs) == nil && fs.Type == unix.NSFS_MAGIC
}
