package netns

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// Do runs fn on an OS thread that has entered the network namespace at
// path, then returns the thread to the caller's namespace. Sockets fn
// creates, and processes it starts, belong to that namespace.
//
// fn runs on a goroutine of its own, locked to its thread, because a
// namespace belongs to a thread, not to a goroutine: any other goroutine
// scheduled there would run in the wrong namespace. When the thread cannot
// return, it stays locked and the runtime ends it with the goroutine.
// A panic in fn ends the program, as in any goroutine.
func Do(path string, fn func() error) error {
	target, err := Open(path)
	if err != nil {
		return err
	}
	defer target.Close()
	return DoFile(target, fn)
}

// DoFile is Do for a namespace file the caller has open.
func DoFile(target *os.File, fn func() error) error {
	return onThread(func() error {
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("enter network namespace %s: %w", target.Name(), hint(err))
		}
		return fn()
	})
}

// onThread runs fn, which may move its thread into another network
// namespace, on a locked thread, and moves the thread back afterwards. It
// is the one place where threads change namespace and come back.
func onThread(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.OpenFile("/proc/thread-self/ns/net", os.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open this thread's network namespace: %w", ProcHint(err))
			return
		}
		defer orig.Close()
		err = fn()
		if back := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); back != nil {
			// Still locked: the thread dies with this goroutine instead of
			// running others in the wrong namespace.
			errc <- errors.Join(err, fmt.Errorf("return to the original network namespace: %w", back))
			return
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	return <-errc
}

// Open opens the network namespace file at path (a bound /run/netns/NAME,
// /proc/PID/ns/net, /proc/self/fd/N) and checks that it is one. It opens
// without blocking, so a FIFO or a device given by mistake is an error
// rather than a hang. The caller closes the file.
func Open(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("open network namespace %s: %w", path, hint(err))
	}
	f := os.NewFile(uintptr(fd), path)
	if err := checkNetNS(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkNetNS tells a network namespace file from anything else.
// ErrNotNetNS is a file that is no network namespace.
var ErrNotNetNS = errors.New("not a network namespace")

func checkNetNS(f *os.File) error {
	const want = "want a network namespace file: /run/netns/NAME, /proc/PID/ns/net or an open namespace descriptor"
	var fs unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &fs); err != nil {
		return fmt.Errorf("statfs %s: %w", f.Name(), err)
	}
	if fs.Type != unix.NSFS_MAGIC {
		return fmt.Errorf("%s is %s, %w (%s)", f.Name(), fileType(f), ErrNotNetNS, want)
	}
	typ, err := unix.IoctlRetInt(int(f.Fd()), unix.NS_GET_NSTYPE)
	if err != nil {
		// Kernels before 4.11 cannot say; setns(CLONE_NEWNET) still
		// refuses another type of namespace.
		return nil
	}
	if typ != unix.CLONE_NEWNET {
		return fmt.Errorf("%s is %s, %w (%s)", f.Name(), nsType(typ), ErrNotNetNS, want)
	}
	return nil
}

func nsType(typ int) string {
	switch typ {
	case unix.CLONE_NEWNS:
		return "a mount namespace"
	case unix.CLONE_NEWUTS:
		return "a UTS namespace"
	case unix.CLONE_NEWIPC:
		return "an IPC namespace"
	case unix.CLONE_NEWUSER:
		return "a user namespace"
	case unix.CLONE_NEWPID:
		return "a PID namespace"
	case unix.CLONE_NEWCGROUP:
		return "a cgroup namespace"
	case unix.CLONE_NEWTIME:
		return "a time namespace"
	}
	return fmt.Sprintf("a namespace of type %#x", typ)
}

// fileType names what a path turned out to be, for error messages.
func fileType(f *os.File) string {
	fi, err := f.Stat()
	if err != nil {
		return "unreadable"
	}
	switch m := fi.Mode(); {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a block device"
	}
	return "an unknown kind of file"
}

// ProcHint explains a /proc that does not show this process: a PID
// namespace of its own without its own /proc mounted.
func ProcHint(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w (/proc does not show this process: in a PID namespace of its own, mount its /proc, e.g. unshare --pid --fork --mount-proc)", err)
	}
	return err
}
