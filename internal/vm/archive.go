package vm

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Archive writes the "070701" (newc) cpio format the kernel unpacks as an
// initramfs. It is uncompressed: the kernel unpacks it faster than it
// would decompress one, and writing it in Go needs neither the cpio tool
// nor mknod (device nodes are just headers). Parent directories are
// added as needed. Archive keeps the first error and ignores every call
// after it, so callers check once, at Close.
type Archive struct {
	w    io.Writer
	ino  int
	off  int64
	err  error
	dirs map[string]bool
}

// NewArchive starts an archive on w; buffer w, the writes are small.
func NewArchive(w io.Writer) *Archive { return &Archive{w: w, ino: 1} }

func (a *Archive) header(name string, mode uint32, size int64, major, minor uint32) {
	if a.err != nil {
		return
	}
	a.ino++
	nlink := 1
	if mode&syscall.S_IFMT == syscall.S_IFDIR {
		nlink = 2
	}
	h := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		a.ino, mode, 0, 0, nlink, 0, size, 0, 0, major, minor, len(name)+1, 0)
	a.write([]byte(h + name + "\x00"))
	a.pad()
}

func (a *Archive) write(b []byte) {
	if a.err != nil {
		return
	}
	n, err := a.w.Write(b)
	a.off += int64(n)
	a.err = err
}

func (a *Archive) pad() {
	if r := a.off % 4; r != 0 {
		a.write(make([]byte, 4-r))
	}
}

// Dir adds a directory (mode 0755) and its parents, each once. Names are
// relative to the archive's root, without a leading slash.
func (a *Archive) Dir(name string) {
	if a.dirs == nil {
		a.dirs = map[string]bool{}
	}
	if name == "." || name == "" || a.dirs[name] {
		return
	}
	a.Dir(path.Dir(name))
	a.dirs[name] = true
	a.header(name, syscall.S_IFDIR|0o755, 0, 0, 0)
}

// Node adds a device node; mode carries the type (syscall.S_IFCHR) and
// the permissions.
func (a *Archive) Node(name string, mode, major, minor uint32) {
	a.Dir(path.Dir(name))
	a.header(name, mode, 0, major, minor)
}

// Bytes adds a regular file holding data.
func (a *Archive) Bytes(name string, perm uint32, data []byte) {
	a.Dir(path.Dir(name))
	a.header(name, syscall.S_IFREG|perm, int64(len(data)), 0, 0)
	a.write(data)
	a.pad()
}

// File adds a regular file copied from the host file src.
func (a *Archive) File(name string, perm uint32, src string) {
	if a.err != nil {
		return
	}
	f, err := os.Open(src)
	if err != nil {
		a.err = err
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		a.err = err
		return
	}
	a.Dir(path.Dir(name))
	a.header(name, syscall.S_IFREG|perm, st.Size(), 0, 0)
	if a.err != nil {
		return
	}
	n, err := io.Copy(a.w, f)
	a.off += n
	if err == nil && n != st.Size() {
		err = fmt.Errorf("%s changed size while packing", src)
	}
	a.err = err
	a.pad()
}

// Tree copies the host directory src, if it exists, to dst in the
// archive: directories and regular files, with their permissions.
func (a *Archive) Tree(dst, src string) {
	if _, err := os.Stat(src); err != nil {
		return
	}
	walkErr := filepath.WalkDir(src, func(from string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, from)
		name := path.Join(dst, filepath.ToSlash(rel))
		switch {
		case d.IsDir():
			a.Dir(name)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			a.File(name, uint32(info.Mode().Perm()), from)
		}
		return a.err
	})
	if walkErr != nil && a.err == nil {
		a.err = walkErr
	}
}

// Err is the first error so far.
func (a *Archive) Err() error { return a.err }

// Close writes the trailer and returns the first error of the whole
// archive. It does not close (or flush) the underlying writer.
func (a *Archive) Close() error {
	a.header("TRAILER!!!", 0, 0, 0, 0)
	// The kernel accepts any length; padding to 512 mirrors cpio(1).
	if r := a.off % 512; r != 0 {
		a.write(make([]byte, 512-r))
	}
	if a.err != nil {
		return fmt.Errorf("write initramfs: %w", a.err)
	}
	return nil
}

// ReadArchive lists what a newc archive holds: its regular files with
// their contents, and its device nodes as "major,minor". It is the
// reader of what Archive writes, for tests and for looking into a guest's
// initramfs.
func ReadArchive(data []byte) (files, nodes map[string]string, err error) {
	files, nodes = map[string]string{}, map[string]string{}
	align := func(n int) int { return (n + 3) &^ 3 }
	for off := 0; off+110 <= len(data); {
		h := string(data[off : off+110])
		if !strings.HasPrefix(h, "070701") {
			return nil, nil, fmt.Errorf("bad newc header at offset %d", off)
		}
		var f [13]int
		for i := range f {
			v, err := strconv.ParseUint(h[6+8*i:14+8*i], 16, 32)
			if err != nil {
				return nil, nil, fmt.Errorf("newc header at offset %d: %w", off, err)
			}
			f[i] = int(v)
		}
		mode, size, nameLen := f[1], f[6], f[11]
		body := align(off + 110 + nameLen)
		if off+110+nameLen > len(data) || body+size > len(data) {
			return nil, nil, fmt.Errorf("newc entry at offset %d runs past the end", off)
		}
		name := string(data[off+110 : off+110+nameLen-1])
		if name == "TRAILER!!!" {
			break
		}
		switch mode & syscall.S_IFMT {
		case syscall.S_IFREG:
			files[name] = string(data[body : body+size])
		case syscall.S_IFCHR:
			nodes[name] = strconv.Itoa(f[9]) + "," + strconv.Itoa(f[10])
		}
		off = align(body + size)
	}
	return files, nodes, nil
}
