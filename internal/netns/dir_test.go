package netns_test

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/netns"
	"github.com/nltrace/nltrace/internal/netns/netnstest"
)

// bindOldWay binds a new namespace at Dir/name the way Create did before
// /run/netns was made a mount point: a plain bind in a plain directory.
func bindOldWay(t *testing.T, name string) uint64 {
	t.Helper()
	if err := os.MkdirAll(netns.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return netnstest.BindFresh(t, netns.Path(name))
}

// bindDirOverItself does what `ip netns add` does when /run/netns is not
// a mount point yet (iproute2 ip/ipnetns.c).
func bindDirOverItself(t *testing.T) {
	t.Helper()
	if err := unix.Mount(netns.Dir, netns.Dir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("", netns.Dir, "none", unix.MS_SHARED|unix.MS_REC, ""); err != nil {
		t.Fatal(err)
	}
}

func binds(t *testing.T, name string) (ids []int, top int) {
	t.Helper()
	ids, top, err := netns.Binds(name)
	if err != nil {
		t.Fatalf("read the mount table: %v", err)
	}
	return ids, top
}

func TestRootCreateMakesDirASharedMountPoint(t *testing.T) {
	if !netnstest.PrivateRun(t) {
		return
	}
	if _, err := netns.Create("first"); err != nil {
		t.Fatal(err)
	}
	point, err := netns.TopPoint()
	if err != nil {
		t.Fatal(err)
	}
	if point != netns.Dir {
		t.Fatalf("%s is not a mount point after Create (the mount a lookup reaches is on %s)", netns.Dir, point)
	}
	_, top := binds(t, "first")
	if err := unix.Mount("", netns.Dir, "none", unix.MS_SHARED|unix.MS_REC, ""); err != nil {
		t.Errorf("%s is a mount point that `ip netns add` cannot make shared: %v", netns.Dir, err)
	}
	if _, err := netns.Create("second"); err != nil {
		t.Fatal(err)
	}
	if _, again := binds(t, "second"); again != top {
		t.Errorf("a second Create bound %s again (mount %d over %d)", netns.Dir, again, top)
	}
	for _, n := range []string{"first", "second"} {
		if err := netns.Delete(n); err != nil {
			t.Error(err)
		}
	}
}

// TestRootCreateUnhidesEarlierBinds: binds made under a plain /run/netns
// (by an older nltrace still running) are copied over by the bind of
// /run/netns that netns.Create makes; the originals, out of reach, are
// unmounted, so that a plain umount and unlink still remove the name.
func TestRootCreateUnhidesEarlierBinds(t *testing.T) {
	if !netnstest.PrivateRun(t) {
		return
	}
	bindOldWay(t, "old")
	if _, err := netns.Create("new"); err != nil {
		t.Fatal(err)
	}
	if err := unix.Unmount(netns.Path("old"), unix.MNT_DETACH); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(netns.Path("old")); err != nil {
		t.Errorf("an older nltrace's removal fails: %v", err)
	}
	if err := netns.Delete("new"); err != nil {
		t.Error(err)
	}
}

// TestRootDeleteRemovesHiddenBinds is the state `ip netns add` leaves when
// /run/netns was a plain directory with a namespace bound in it.
func TestRootDeleteRemovesHiddenBinds(t *testing.T) {
	if !netnstest.PrivateRun(t) {
		return
	}
	want := bindOldWay(t, "hidden")
	bindDirOverItself(t)
	// What a plain umount reaches is the copy on top.
	if err := unix.Unmount(netns.Path("hidden"), unix.MNT_DETACH); err != nil {
		t.Fatal(err)
	}
	if ids, _ := binds(t, "hidden"); len(ids) != 1 {
		t.Fatalf("binds of the name: %v, want the hidden one", ids)
	}
	names, err := netns.List("hid")
	if err != nil || len(names) != 1 || names[0] != "hidden" {
		t.Errorf("List = %v, %v; want the hidden name", names, err)
	}
	f, ino, err := netns.Claim("hidden")
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	if ino != want {
		t.Errorf("claimed namespace %d, want the hidden one, %d", ino, want)
	}
	f.Close()

	if err := netns.Delete("hidden"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if ids, _ := binds(t, "hidden"); len(ids) > 0 {
		t.Errorf("still mounted: mounts %v", ids)
	}
	if _, err := os.Lstat(netns.Path("hidden")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the file is still there: %v", err)
	}
	if out, err := exec.Command("ip", "netns", "list").CombinedOutput(); err == nil && strings.Contains(string(out), "invalid") {
		t.Errorf("ip netns list: %s", out)
	}
}

// TestRootBusySaysWhatHoldsTheName: when a hidden bind cannot be
// unmounted, the EBUSY names it and the mount of /run/netns over it.
func TestRootBusySaysWhatHoldsTheName(t *testing.T) {
	if !netnstest.PrivateRun(t) {
		return
	}
	bindOldWay(t, "busy")
	bindDirOverItself(t)
	if err := unix.Unmount(netns.Path("busy"), unix.MNT_DETACH); err != nil {
		t.Fatal(err)
	}
	ids, top := binds(t, "busy")
	if len(ids) != 1 {
		t.Fatalf("binds of the name: %v, want the hidden one", ids)
	}
	err := netns.Busy("busy", unix.EBUSY)
	for _, want := range []string{"device or resource busy", "mount " + strconv.Itoa(ids[0]), "hidden under the mount of /run/netns (mount " + strconv.Itoa(top) + ")", "ip netns add"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
	if !errors.Is(err, unix.EBUSY) {
		t.Error("the error does not wrap EBUSY")
	}
}

func TestRootClaimRefusesAHeldNamespace(t *testing.T) {
	if !netnstest.PrivateRun(t) {
		return
	}
	held, err := netns.CreateHeld("held")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := netns.Claim("held"); !errors.Is(err, netns.ErrInUse) {
		t.Errorf("claim of a held namespace: %v, want netns.ErrInUse", err)
	}
	// Another process, the way `nltrace cleanup` asks.
	if _, err := exec.LookPath("flock"); err == nil {
		if err := exec.Command("flock", "-n", netns.Path("held"), "true").Run(); err == nil {
			t.Error("another process took the lock of a held namespace")
		}
	}
	want, err := netns.Inode(held)
	if err != nil {
		t.Fatal(err)
	}
	held.Close() // as the kernel does for a killed process
	f, ino, err := netns.Claim("held")
	if err != nil {
		t.Fatalf("claim after the holder let go: %v", err)
	}
	f.Close()
	if ino != want {
		t.Errorf("claimed inode %d, want %d", ino, want)
	}
	if err := netns.Delete("held"); err != nil {
		t.Error(err)
	}
}
