package vm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// Spec names one guest kernel. It is either a Debian kernel series with a
// flavour and an architecture, resolved to the newest package at Resolve
// time, or a file the user has: a linux-image .deb, or a kernel image that
// is booted as it is.
type Spec struct {
	Series  string // Debian kernel series, MAJOR.MINOR: 6.1, 6.12; "" for a file
	Flavour string // a key of Flavours; "" for a file
	Arch    string // a key of Arches
	Deb     string // absolute path of a linux-image .deb
	Image   string // absolute path of a kernel image (vmlinuz, bzImage, Image)
}

// Flavours maps the flavours a series can be written with to the part of
// Debian's package name between the version and the architecture:
// linux-image-6.12.NNN+deb12-cloud-amd64-unsigned is cloud, ...-rt-amd64-
// is rt, and the plain ...-amd64- package is Debian's generic flavour.
// cloud is the default: it is the smallest, and the one CI has always
// booted.
var Flavours = map[string]string{"cloud": "cloud-", "rt": "rt-", "generic": ""}

// DefaultFlavour and DefaultArch are what a bare series means: "6.12" is
// 6.12-cloud-amd64 whatever the host, as in CI.
const (
	DefaultFlavour = "cloud"
	DefaultArch    = "amd64"
)

// SpecForms is the help text for every error about a spec and for flags
// that take one.
const SpecForms = "a Debian series SERIES[-FLAVOUR][-ARCH] (6.1, 6.12, 6.12-arm64, 6.12-rt, 6.12-rt-arm64, 6.1-generic; " +
	"FLAVOUR cloud (default), rt or generic; ARCH amd64 (default) or arm64), " +
	"the path of a linux-image .deb, or the path of a kernel image (vmlinuz, bzImage, Image)"

var seriesRE = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)

// String is the spec as it is best written: defaults left out, so that
// "6.12" and "6.12-arm64" keep their names in logs and matrices.
func (s Spec) String() string {
	switch {
	case s.Deb != "":
		return s.Deb
	case s.Image != "":
		return s.Image
	}
	name := s.Series
	if s.Flavour != DefaultFlavour {
		name += "-" + s.Flavour
	}
	if s.Arch != DefaultArch {
		name += "-" + s.Arch
	}
	return name
}

// ParseSpec reads one spec. A string with a slash or ending in .deb, or
// one that is not a series but names an existing file, is a file.
func ParseSpec(s string) (Spec, error) {
	if s == "" {
		return Spec{}, fmt.Errorf("empty kernel spec: want %s", SpecForms)
	}
	parts := strings.Split(s, "-")
	isFile := strings.ContainsRune(s, os.PathSeparator) || strings.HasSuffix(s, ".deb")
	if !isFile && !seriesRE.MatchString(parts[0]) {
		if st, err := os.Stat(s); err == nil && st.Mode().IsRegular() {
			isFile = true
		}
	}
	if isFile {
		return parseFile(s)
	}
	if !seriesRE.MatchString(parts[0]) {
		return Spec{}, fmt.Errorf("kernel %q: series %q is not MAJOR.MINOR, and no such file exists: want %s", s, parts[0], SpecForms)
	}
	g := Spec{Series: parts[0]}
	for _, p := range parts[1:] {
		_, isFlavour := Flavours[p]
		_, isArch := Arches[p]
		switch {
		case isFlavour && g.Flavour == "":
			g.Flavour = p
		case isArch && g.Arch == "":
			g.Arch = p
		case isFlavour || isArch:
			return Spec{}, fmt.Errorf("kernel %q: %q given twice: want %s", s, p, SpecForms)
		default:
			return Spec{}, fmt.Errorf("kernel %q: %q is neither a flavour (cloud, rt, generic) nor an architecture (%s): want %s", s, p, archNames(), SpecForms)
		}
	}
	if g.Flavour == "" {
		g.Flavour = DefaultFlavour
	}
	if g.Arch == "" {
		g.Arch = DefaultArch
	}
	return g, nil
}

// ParseSpecs reads a list of specs and refuses one given twice, even
// spelled differently ("6.12" and "6.12-cloud-amd64").
func ParseSpecs(list []string) ([]Spec, error) {
	var specs []Spec
	seen := map[Spec]bool{}
	for _, s := range list {
		g, err := ParseSpec(s)
		if err != nil {
			return nil, err
		}
		if seen[g] {
			return nil, fmt.Errorf("kernel %s given twice", g)
		}
		seen[g] = true
		specs = append(specs, g)
	}
	return specs, nil
}

// parseFile tells a .deb (an ar archive) from a kernel image by content,
// not by name, and finds the architecture the guest must have.
func parseFile(s string) (Spec, error) {
	path, err := filepath.Abs(s)
	if err != nil {
		return Spec{}, fmt.Errorf("kernel %q: %w", s, err)
	}
	head, err := readHead(path, 4096)
	if err != nil {
		return Spec{}, fmt.Errorf("kernel %q: %w: want %s", s, err, SpecForms)
	}
	if bytes.HasPrefix(head, []byte("!<arch>\n")) {
		f, err := debFields(path, "Package", "Architecture")
		if err != nil {
			return Spec{}, fmt.Errorf("kernel %q: %w", s, err)
		}
		if !strings.HasPrefix(f["Package"], "linux-image-") {
			return Spec{}, fmt.Errorf("kernel %q: package %q is not a linux-image package: want %s", s, f["Package"], SpecForms)
		}
		if _, ok := Arches[f["Architecture"]]; !ok {
			return Spec{}, fmt.Errorf("kernel %q: architecture %q is not one of %s", s, f["Architecture"], archNames())
		}
		return Spec{Deb: path, Arch: f["Architecture"]}, nil
	}
	if strings.HasSuffix(s, ".deb") {
		return Spec{}, fmt.Errorf("kernel %q: not a Debian package (no ar header): want %s", s, SpecForms)
	}
	arch := imageArch(head)
	if arch == "" {
		return Spec{}, fmt.Errorf("kernel %q: not a kernel image (no bzImage, arm64 Image, ELF or PE header): want %s", s, SpecForms)
	}
	return Spec{Image: path, Arch: arch}, nil
}

func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	b := make([]byte, n)
	m, err := io.ReadFull(f, b)
	if err != nil && err != io.ErrUnexpectedEOF {
		return nil, err
	}
	return b[:m], nil
}

// imageArch reads the architecture from a kernel image's header: an arm64
// Image has "ARM\x64" at offset 56 (it also starts with "MZ" when it has
// an EFI stub, so it is tested first), an x86 bzImage "HdrS" at 0x202; an
// ELF vmlinux or a PE file names its machine. Anything else is no kernel
// QEMU can boot: "".
func imageArch(h []byte) string {
	at := func(off int, magic string) bool {
		return len(h) >= off+len(magic) && string(h[off:off+len(magic)]) == magic
	}
	switch {
	case at(56, "ARM\x64"):
		return "arm64"
	case at(0x202, "HdrS"):
		return "amd64"
	case at(0, "\x7fELF") && len(h) >= 20:
		m := binary.LittleEndian.Uint16(h[18:])
		if h[5] == 2 { // big-endian ELF
			m = binary.BigEndian.Uint16(h[18:])
		}
		for name, a := range Arches {
			if uint16(a.ELF) == m {
				return name
			}
		}
	case at(0, "MZ") && len(h) >= 0x40:
		pe := int(binary.LittleEndian.Uint32(h[0x3c:]))
		if at(pe, "PE\x00\x00") && len(h) >= pe+6 {
			switch binary.LittleEndian.Uint16(h[pe+4:]) {
			case 0x8664:
				return "amd64"
			case 0xaa64:
				return "arm64"
			}
		}
	}
	return ""
}

// debFields reads control fields of a .deb with dpkg-deb -f.
func debFields(path string, names ...string) (map[string]string, error) {
	out, err := exec.Command("dpkg-deb", append([]string{"-f", path}, names...)...).Output()
	if err != nil {
		return nil, fmt.Errorf("dpkg-deb -f %s: %w (is dpkg-deb installed? scripts/deps.sh)", path, ExitDetail(err))
	}
	f := map[string]string{}
	for line := range strings.Lines(string(out)) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ": "); ok {
			f[k] = v
		}
	}
	// With one field asked for, dpkg-deb prints the bare value.
	if len(names) == 1 && len(f) == 0 {
		f[names[0]] = strings.TrimSpace(string(out))
	}
	return f, nil
}
