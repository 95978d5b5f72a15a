package netns

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// makeMountPoint makes Dir a shared mount point, as iproute2's netns_add
// (ip/ipnetns.c) does before it binds anything there: make it shared, and
// when that fails with EINVAL (not a mount point) bind it over itself and
// try again. Were it left a plain directory, the first `ip netns add` on
// the machine would do that bind later and hide every namespace bound here
// before: their binds stay, out of reach of any path, the files cannot be
// removed (EBUSY), and `ip netns list` says "Peer netns reference is
// invalid". Shared, the binds also propagate to the mount namespaces that
// `ip netns exec` makes, and their removal with them.
func makeMountPoint() error {
	if err := os.MkdirAll(Dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", Dir, hint(err))
	}
	// Opened before any bind over Dir: a path through it still reaches the
	// directory as it was, and the binds made there so far.
	dir, err := os.OpenFile(Dir, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", Dir, hint(err))
	}
	defer dir.Close()
	// The lock iproute2 5.11+ takes too: two processes binding Dir over
	// itself at once would stack binds (Debian bug 949235). Like ip, go on
	// without it if it cannot be had.
	if unix.Flock(int(dir.Fd()), unix.LOCK_EX) == nil {
		defer unix.Flock(int(dir.Fd()), unix.LOCK_UN)
	}
	var before unix.Statx_t
	if err := unix.Statx(int(dir.Fd()), "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID, &before); err != nil {
		return fmt.Errorf("stat %s: %w", Dir, err)
	}
	made := false
	for {
		err := unix.Mount("", Dir, "none", unix.MS_SHARED|unix.MS_REC, "")
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EINVAL) || made {
			return fmt.Errorf("make %s a shared mount point (mount --make-shared): %w", Dir, hint(err))
		}
		if err := unix.Mount(Dir, Dir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("make %s a mount point (mount --bind %s %s): %w", Dir, Dir, Dir, hint(err))
		}
		made = true
	}
	if made {
		unhide(dir, int(before.Mnt_id))
	}
	return nil
}

// unhide unmounts the binds that the bind of Dir over itself has just
// hidden, in the mount (id under) that dir was opened in. The recursive
// bind copied each of them on top, where paths reach; the hidden originals
// would only keep their namespaces alive and their files busy: that is the
// state `ip netns add` leaves, which processes still running an nltrace
// without this fix could not get out of. An original without a copy on top
// stays.
func unhide(dir *os.File, under int) {
	d, err := readDirMounts()
	if err != nil || d == nil {
		return
	}
	for _, m := range d.all {
		if m.parent != under || filepath.Dir(m.point) != d.point || !d.copied(m) {
			continue
		}
		unix.Unmount(fmt.Sprintf("/proc/self/fd/%d/%s", dir.Fd(), filepath.Base(m.point)), unix.MNT_DETACH)
	}
}

// copied reports whether the top mount of Dir has a bind of the same thing
// at m's name.
func (d *dirMounts) copied(m mount) bool {
	for _, c := range d.all {
		if c.parent == d.top && c.point == m.point && c.root == m.root && c.dev == m.dev {
			return true
		}
	}
	return false
}

// hiddenDir opens Dir as it is in the mount parent, which a later mount of
// Dir hides: a path through the returned directory reaches the binds made
// there before. A path lookup always crosses into the top mount; a file
// handle opened against the parent mount stays in it.
func (d *dirMounts) hiddenDir(parent int) (*os.File, error) {
	p, ok := d.byID[parent]
	if !ok {
		return nil, fmt.Errorf("mount %d is gone", parent)
	}
	// A plain descriptor: open_by_handle_at refuses O_PATH ones.
	mfd, err := unix.Open(p.point, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open mount %d at %s: %w", parent, p.point, err)
	}
	defer unix.Close(mfd)
	var stx unix.Statx_t
	if err := unix.Statx(mfd, "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID, &stx); err != nil {
		return nil, fmt.Errorf("stat mount %d at %s: %w", parent, p.point, err)
	}
	if int(stx.Mnt_id) != parent {
		return nil, fmt.Errorf("mount %d at %s is itself hidden, by mount %d", parent, p.point, stx.Mnt_id)
	}
	h, _, err := unix.NameToHandleAt(unix.AT_FDCWD, Dir, 0)
	if err != nil {
		return nil, fmt.Errorf("file handle of %s: %w", Dir, err)
	}
	fd, err := unix.OpenByHandleAt(mfd, h, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("open %s in mount %d: %w", Dir, parent, err)
	}
	return os.NewFile(uintptr(fd), fmt.Sprintf("%s in mount %d", Dir, parent)), nil
}

// openHidden opens the namespace that m, a hidden bind, holds.
func (d *dirMounts) openHidden(m mount) (*os.File, error) {
	dir, err := d.hiddenDir(m.parent)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	return openNoBlock(fmt.Sprintf("/proc/self/fd/%d/%s", dir.Fd(), filepath.Base(m.point)))
}

// unmountHidden unmounts the binds of name that a path cannot reach.
func (d *dirMounts) unmountHidden(name string) []error {
	var errs []error
	for _, m := range d.binds(name) {
		dir, err := d.hiddenDir(m.parent)
		if err != nil {
			errs = append(errs, fmt.Errorf("unmount namespace %s (mount %d, hidden): %w", name, m.id, err))
			continue
		}
		err = unix.Unmount(fmt.Sprintf("/proc/self/fd/%d/%s", dir.Fd(), name), unix.MNT_DETACH)
		dir.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("unmount namespace %s (mount %d, hidden): %w", name, m.id, hint(err)))
		}
	}
	return errs
}

// busy explains an EBUSY from removing the named namespace's file: what
// is still mounted on it.
func busy(name string, err error) error {
	const hidden = "hidden under the mount of %s (mount %d) that a bind of %s over itself made after it (`ip netns add` does that when %s is not yet a mount point); " +
		"it lasts until that mount is gone or the machine reboots"
	d, derr := readDirMounts()
	if derr != nil || d == nil {
		return fmt.Errorf("remove namespace %s: %w (something is still mounted on %s)", name, err, Path(name))
	}
	var what []string
	for _, m := range d.binds(name) {
		s := fmt.Sprintf("mount %d of %s", m.id, m.root)
		if top, ok := d.hiddenBy(m); ok {
			s += ", " + fmt.Sprintf(hidden, Dir, top.id, Dir, Dir)
		}
		what = append(what, s)
	}
	if len(what) == 0 {
		return fmt.Errorf("remove namespace %s: %w (something this process cannot see is mounted on %s)", name, err, Path(name))
	}
	return fmt.Errorf("remove namespace %s: %w: still mounted: %s", name, err, strings.Join(what, "; "))
}
