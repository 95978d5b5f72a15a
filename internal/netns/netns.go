// Package netns creates, enters, lists and removes named network namespaces
// (bound under /run/netns, where iproute2 keeps them too). The calling
// goroutine's thread never changes namespace: Do and Create move a thread of
// their own there and back.
package netns

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Dir is where named namespaces are bound, as `ip netns` does.
const Dir = "/run/netns"

// Path returns the bind path of the named namespace.
func Path(name string) string { return filepath.Join(Dir, name) }

// Create makes a new network namespace bound at /run/netns/NAME and returns
// that path. The caller's threads stay in their namespace.
func Create(name string) (string, error) {
	if name == "" || strings.ContainsRune(name, '/') {
		return "", fmt.Errorf("invalid namespace name %q", name)
	}
	if err := os.MkdirAll(Dir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", Dir, hint(err))
	}
	path := Path(name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return "", fmt.Errorf("create namespace %s: %w", name, hint(err))
	}
	f.Close()

	if err := bindNew(path); err != nil {
		os.Remove(path)
		return "", fmt.Errorf("create namespace %s: %w", name, hint(err))
	}
	return path, nil
}

// bindNew binds a fresh network namespace at path. Only the thread that
// unshares it ever enters it, and that thread goes back.
func bindNew(path string) error {
	return onThread(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("unshare: %w", err)
		}
		if err := unix.Mount("/proc/thread-self/ns/net", path, "none", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind mount: %w", err)
		}
		return nil
	})
}

// Delete unbinds and removes the named namespace. The kernel frees it once
// no process or socket holds it any more.
func Delete(name string) error {
	path := Path(name)
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount namespace %s: %w", name, hint(err))
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove namespace %s: %w", name, err)
	}
	return nil
}

// List returns the names of the namespaces under /run/netns that start with
// prefix.
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
		if strings.HasPrefix(e.Name(), prefix) {
			names = append(names, e.Name())
		}
	}
	return names, nil
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

func hint(err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%w (network namespaces need root or CAP_SYS_ADMIN: run with sudo)", err)
	}
	return err
}
