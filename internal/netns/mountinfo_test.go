package netns

import (
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseMountinfo(t *testing.T) {
	const table = `27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
71 27 0:39 / /run rw,relatime - tmpfs tmpfs rw
72 71 0:4 net:[4026532613] /run/netns/A rw - nsfs nsfs rw
73 71 0:39 /netns /run/netns rw,relatime shared:1 - tmpfs tmpfs rw
74 73 0:4 net:[4026532613] /run/netns/A rw shared:2 master:7 - nsfs nsfs rw
75 73 0:4 net:[4026532681] /run/netns/with\040space rw shared:3 - nsfs nsfs rw
`
	ms, err := parseMountinfo([]byte(table))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 6 {
		t.Fatalf("%d mounts, want 6", len(ms))
	}
	want := mount{id: 74, parent: 73, dev: unix.Mkdev(0, 4), root: "net:[4026532613]", point: "/run/netns/A", fstype: "nsfs"}
	if ms[4] != want {
		t.Errorf("mount 74 = %+v, want %+v", ms[4], want)
	}
	if ms[5].point != "/run/netns/with space" {
		t.Errorf("escaped mount point = %q", ms[5].point)
	}
	if ms[4].nsInode() != 4026532613 || ms[1].nsInode() != 0 {
		t.Errorf("namespace inodes %d and %d, want 4026532613 and 0", ms[4].nsInode(), ms[1].nsInode())
	}

	d := &dirMounts{all: ms, byID: map[int]mount{}, top: 73, dev: unix.Mkdev(0, 39), point: "/run/netns"}
	for _, m := range ms {
		d.byID[m.id] = m
	}
	binds := d.binds("A")
	if len(binds) != 2 || binds[0].id != 72 || binds[1].id != 74 {
		t.Errorf("binds of A = %+v, want the hidden 72 and the reachable 74", binds)
	}
	if top, ok := d.hiddenBy(binds[0]); !ok || top.id != 73 {
		t.Errorf("mount 72 hidden by %+v, %v; want mount 73", top, ok)
	}
	if _, ok := d.hiddenBy(binds[1]); ok {
		t.Error("mount 74, on top, is called hidden")
	}

	if _, err := parseMountinfo([]byte("27 1 254:0 / /\n")); err == nil {
		t.Error("a short line parsed")
	}
}

// TestBindsIgnoreAnotherFileSystemsDir: with a tmpfs mounted on /run (a
// container, or these tests' private runs), the mount table still lists
// the binds under the root file system's /run/netns. They are someone
// else's: neither listed nor touched.
func TestBindsIgnoreAnotherFileSystemsDir(t *testing.T) {
	const table = `27 1 254:0 / / rw - ext4 /dev/vda rw
42 27 0:4 net:[4026532246] /run/netns/nltrace-churn-9-1 rw - nsfs nsfs rw
71 27 0:39 / /run rw - tmpfs tmpfs rw
73 71 0:39 /netns /run/netns rw shared:1 - tmpfs tmpfs rw
`
	ms, err := parseMountinfo([]byte(table))
	if err != nil {
		t.Fatal(err)
	}
	d := &dirMounts{all: ms, byID: map[int]mount{}, top: 73, dev: unix.Mkdev(0, 39), point: "/run/netns"}
	for _, m := range ms {
		d.byID[m.id] = m
	}
	if n := d.names(); len(n) != 0 {
		t.Errorf("names %v: the root file system's /run/netns is not this one", n)
	}
}

func TestHintDoesNotTellRootToBeRoot(t *testing.T) {
	for _, err := range []error{unix.EPERM, os.ErrPermission} {
		root := hintFor(err, 0).Error()
		if strings.Contains(root, "sudo") || strings.Contains(root, "need root") || strings.Contains(root, "needs root") {
			t.Errorf("root is told %q", root)
		}
		if !strings.Contains(root, "container") {
			t.Errorf("root is not told why it may be refused: %q", root)
		}
		if user := hintFor(err, 1000).Error(); !strings.Contains(user, "run with sudo") {
			t.Errorf("a user is told %q, want the sudo hint", user)
		}
		if !errors.Is(hintFor(err, 0), err) {
			t.Error("the hint does not wrap the error")
		}
	}
	if got := hintFor(unix.EBUSY, 1000); got != unix.EBUSY {
		t.Errorf("EBUSY got a hint: %v", got)
	}
}
