package probe

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf"
)

// TestHooksMatchObject checks the hook table against the compiled object:
// every program exists, each backend's twin has the right type, and writer
// programs name the function they are attached to.
func TestHooksMatchObject(t *testing.T) {
	spec, err := loadNltrace()
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, h := range hooks {
		for i, b := range []Backend{Fentry, Kprobe} {
			names := []string{h.entry[i]}
			if h.exit[0] != "" {
				names = append(names, h.exit[i])
			}
			for _, name := range names {
				ps, ok := spec.Programs[name]
				if !ok {
					t.Errorf("%s: no program %s", h.symbol, name)
					continue
				}
				used[name] = true
				want := ebpf.Kprobe
				if b == Fentry {
					want = ebpf.Tracing
				}
				if ps.Type != want {
					t.Errorf("%s: type %v, want %v", name, ps.Type, want)
				}
				// Dump programs are shared and re-targeted at load time.
				if h.exit[0] == "" && ps.AttachTo != h.symbol && !strings.HasSuffix(ps.SectionName, "/"+h.symbol) {
					t.Errorf("%s: attaches to %q (section %s), want %s", name, ps.AttachTo, ps.SectionName, h.symbol)
				}
			}
		}
	}
	for name := range spec.Programs {
		if !used[name] {
			t.Errorf("program %s is in no hook", name)
		}
	}
}

func TestSelectProgramsKeepsOneBackend(t *testing.T) {
	for _, b := range []Backend{Fentry, Kprobe} {
		spec, err := loadNltrace()
		if err != nil {
			t.Fatal(err)
		}
		var use []hook // two dump handlers and a writer
		for _, h := range hooks {
			if h.symbol == "rtnl_dump_ifinfo" || h.symbol == "inet_dump_ifaddr" || h.symbol == "list_netdevice" {
				use = append(use, h)
			}
		}
		progs, err := selectPrograms(spec, b, use)
		if err != nil {
			t.Fatal(err)
		}
		if len(progs) != 5 || len(spec.Programs) != 5 && b == Fentry || len(spec.Programs) != 3 && b == Kprobe {
			t.Errorf("%v: %d attachments, %d programs kept", b, len(progs), len(spec.Programs))
		}
		for name, ps := range spec.Programs {
			if strings.HasPrefix(name, "kprobe") != (b == Kprobe) && strings.HasPrefix(name, "kretprobe") != (b == Kprobe) {
				t.Errorf("%v: kept %s", b, name)
			}
			if b == Fentry && strings.HasPrefix(name, "fentry_dump:") && ps.AttachTo != strings.TrimPrefix(name, "fentry_dump:") {
				t.Errorf("%s attaches to %s", name, ps.AttachTo)
			}
		}
	}
}
