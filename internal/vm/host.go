package vm

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
)

// CheckHostTools fails early with the fix instead of midway with an exec
// error: QEMU for each guest architecture, apt and dpkg where something
// is downloaded or extracted, and a static /bin/busybox for guests of the
// host's architecture. extra are tools the caller itself needs.
func CheckHostTools(specs []Spec, extra ...string) error {
	var tools []string
	add := func(ts ...string) {
		for _, t := range ts {
			if !slices.Contains(tools, t) {
				tools = append(tools, t)
			}
		}
	}
	native := false
	for _, s := range specs {
		switch {
		case s.Series != "":
			add("apt-get", "apt-cache", "dpkg", "dpkg-deb", "xz")
		case s.Deb != "":
			add("dpkg-deb", "xz")
		}
		if s.Arch != HostArch { // its busybox is downloaded
			add("apt-get", "apt-cache", "dpkg", "dpkg-deb")
		}
		native = native || s.Arch == HostArch
	}
	add(extra...)
	for _, s := range specs {
		add(Arches[s.Arch].Qemu)
	}
	var missing []string
	for _, t := range tools {
		if _, err := exec.LookPath(t); err != nil {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s not found: run scripts/deps.sh", strings.Join(missing, ", "))
	}
	if !native {
		return nil
	}
	// A dynamically linked busybox (package busybox) cannot run in a guest
	// without libc.
	if err := CheckStatic("/bin/busybox", HostArch); err != nil {
		return fmt.Errorf("/bin/busybox: %w: install busybox-static (scripts/deps.sh)", err)
	}
	return nil
}
