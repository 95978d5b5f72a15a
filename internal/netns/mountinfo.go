package netns

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// mount is one line of /proc/self/mountinfo.
type mount struct {
	id, parent int
	dev        uint64 // the mounted file system's device
	root       string // what is mounted: "net:[4026532246]" for a namespace
	point      string // where, as seen from this process's root
	fstype     string
}

// nsInode is the inode of the namespace a nsfs mount binds, 0 for anything
// else.
func (m mount) nsInode() uint64 {
	s, ok := strings.CutPrefix(m.root, "net:[")
	if !ok || m.fstype != "nsfs" {
		return 0
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// mounts reads this process's mount table. A mount hidden under another
// one (a bind under /run/netns after /run/netns itself was bound over) is
// still listed: path lookups cannot reach it, mountinfo can.
func mounts() ([]mount, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read the mount table: %w", err)
	}
	return parseMountinfo(b)
}

// parseMountinfo parses proc(5) mountinfo lines:
// ID PARENT MAJOR:MINOR ROOT POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER.
func parseMountinfo(b []byte) ([]mount, error) {
	var out []mount
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if len(f) < 6 || sep < 0 || sep+1 >= len(f) {
			return nil, fmt.Errorf("mountinfo line %q: too few fields", sc.Text())
		}
		var m mount
		var err1, err2 error
		m.id, err1 = strconv.Atoi(f[0])
		m.parent, err2 = strconv.Atoi(f[1])
		major, minor, ok := strings.Cut(f[2], ":")
		ma, err3 := strconv.ParseUint(major, 10, 32)
		mi, err4 := strconv.ParseUint(minor, 10, 32)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil || !ok {
			return nil, fmt.Errorf("mountinfo line %q: bad id or device", sc.Text())
		}
		m.dev = unix.Mkdev(uint32(ma), uint32(mi))
		m.root, m.point, m.fstype = unescape(f[3]), unescape(f[4]), f[sep+1]
		out = append(out, m)
	}
	return out, sc.Err()
}

// unescape undoes mountinfo's octal escapes (\040 for a space, ...).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// dirMounts is what the mount table says about the names under Dir.
type dirMounts struct {
	all   []mount
	byID  map[int]mount
	top   int    // the mount a lookup of Dir reaches
	dev   uint64 // Dir's file system
	point string // Dir as mountinfo spells it (symbolic links resolved)
}

// readDirMounts reads the mount table and where Dir stands in it. It
// returns nil when Dir does not exist.
func readDirMounts() (*dirMounts, error) {
	var stx unix.Statx_t
	err := unix.Statx(unix.AT_FDCWD, Dir, unix.AT_STATX_DONT_SYNC, unix.STATX_MNT_ID, &stx)
	if err == unix.ENOENT {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", Dir, err)
	}
	all, err := mounts()
	if err != nil {
		return nil, err
	}
	point, err := filepath.EvalSymlinks(Dir)
	if err != nil {
		point = Dir
	}
	d := &dirMounts{all: all, byID: make(map[int]mount, len(all)), top: int(stx.Mnt_id),
		dev: unix.Mkdev(stx.Dev_major, stx.Dev_minor), point: point}
	for _, m := range all {
		d.byID[m.id] = m
	}
	return d, nil
}

// binds returns the mounts on Dir/name, reachable or hidden, oldest first.
// A mount counts only when it sits in the directory Dir is now: a mount
// on another file system's /run/netns, hidden by a later mount of /run or
// /, belongs to whoever made that one (a container's host, say).
func (d *dirMounts) binds(name string) []mount {
	var out []mount
	want := filepath.Join(d.point, name)
	for _, m := range d.all {
		if m.point == want && d.inDir(m) {
			out = append(out, m)
		}
	}
	return out
}

// names returns the names under Dir that have a mount, hidden ones
// included.
func (d *dirMounts) names() []string {
	var out []string
	for _, m := range d.all {
		if filepath.Dir(m.point) == d.point && d.inDir(m) {
			out = append(out, filepath.Base(m.point))
		}
	}
	return out
}

// inDir reports whether m's mount point lies in Dir's file system, whose
// directory a bind of Dir over itself shares.
func (d *dirMounts) inDir(m mount) bool {
	p, ok := d.byID[m.parent]
	return ok && p.dev == d.dev
}

// hiddenBy names the mount that covers m's parent at Dir, for messages: a
// mount of Dir made after m was.
func (d *dirMounts) hiddenBy(m mount) (mount, bool) {
	if m.parent == d.top {
		return mount{}, false
	}
	top, ok := d.byID[d.top]
	return top, ok
}
