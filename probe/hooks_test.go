package probe

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf"
)

// wantType is the program type and section prefix of each backend's entry
// and exit programs.
var wantType = map[Backend]struct {
	typ         ebpf.ProgramType
	entry, exit string
}{
	Fentry: {ebpf.Tracing, "fentry/", "fexit/"},
	Kprobe: {ebpf.Kprobe, "kprobe/", "kretprobe/"},
}

// TestHooksMatchObjects checks the hook table against the compiled
// objects: each twin holds one program per backend, of the right kind, on
// the same function; every program is in a hook, on its own side.
func TestHooksMatchObjects(t *testing.T) {
	o, err := loadObjects()
	if err != nil {
		t.Fatal(err)
	}
	used := map[*ebpf.ProgramSpec]bool{}
	check := func(h hook, tw twin, exit bool) {
		for _, b := range []Backend{Fentry, Kprobe} {
			ps := tw.pick(b)
			used[ps] = true
			want, prefix := wantType[b], wantType[b].entry
			if exit {
				prefix = want.exit
			}
			if ps.Type != want.typ || !strings.HasPrefix(ps.SectionName, prefix) {
				t.Errorf("%s: %v program %s is %v in section %s, want %v in %s...", h.symbol, b, ps.Name, ps.Type, ps.SectionName, want.typ, prefix)
			}
			if o.specs[h.side].Programs[ps.Name] != ps {
				t.Errorf("%s: program %s is not in the %v object", h.symbol, ps.Name, h.side)
			}
			// Dump programs are aimed at each handler at load time and
			// name no function, so that one left unaimed fails to load.
			if want := map[side]string{dumpSide: "", writerSide: h.symbol}[h.side]; ps.AttachTo != want {
				t.Errorf("%s: program %s attaches to %q, want %q", h.symbol, ps.Name, ps.AttachTo, want)
			}
		}
	}
	for _, h := range o.hooks() {
		if h.symbol == "" {
			t.Errorf("hook with no function: %+v", h)
		}
		check(h, h.entry, false)
		if h.hasExit() {
			check(h, h.exit, true)
		}
	}
	for s, spec := range o.specs[:syscallSide] {
		for name, ps := range spec.Programs {
			if !used[ps] {
				t.Errorf("program %s of the %v object is in no hook", name, side(s))
			}
		}
	}
}

// TestSyscallProgramsAreTracepoints checks the tracepoint backend's
// object: an entry program per traced syscall, one exit program and the
// lock programs, all tracepoint programs, which openTracepoint attaches by
// hand.
func TestSyscallProgramsAreTracepoints(t *testing.T) {
	o, err := loadObjects()
	if err != nil {
		t.Fatal(err)
	}
	progs := o.specs[syscallSide].Programs
	if want := len((&syscallObjects{}).programs()); len(progs) != want {
		t.Errorf("syscall object has %d programs, want %d: every entry program in syscallHooks, the exit, and lockHooks", len(progs), want)
	}
	for name, ps := range progs {
		if ps.Type != ebpf.TracePoint || !strings.HasPrefix(ps.SectionName, "tracepoint/") {
			t.Errorf("program %s is %v in section %s, want a tracepoint", name, ps.Type, ps.SectionName)
		}
	}
}

// TestSelectProgramsKeepsOneBackend selects two dump handlers and a
// writer, and checks that only the backend's programs stay, each aimed at
// its function, and that every attachment names a kept program.
func TestSelectProgramsKeepsOneBackend(t *testing.T) {
	for _, b := range []Backend{Fentry, Kprobe} {
		t.Run(b.String(), func(t *testing.T) {
			o, err := loadObjects()
			if err != nil {
				t.Fatal(err)
			}
			var use []hook
			for _, h := range o.hooks() {
				if h.symbol == "rtnl_dump_ifinfo" || h.symbol == "inet_dump_ifaddr" || h.symbol == "list_netdevice" {
					use = append(use, h)
				}
			}
			progs := o.selectPrograms(b, use)
			// fentry: one copy of the entry and exit programs per
			// handler; kprobe: the shared pair, attached twice.
			wantKept := map[Backend][sides]int{Fentry: {4, 1}, Kprobe: {2, 1}}[b]
			for s, spec := range o.specs {
				if len(spec.Programs) != wantKept[s] {
					t.Errorf("%v object: kept %d programs, want %d", side(s), len(spec.Programs), wantKept[s])
				}
				for name, ps := range spec.Programs {
					if ps.Type != wantType[b].typ {
						t.Errorf("%v object: kept %s, a %v program", side(s), name, ps.Type)
					}
				}
			}
			if len(progs) != 5 {
				t.Fatalf("%d attachments, want 5", len(progs))
			}
			for _, a := range progs {
				ps := o.specs[a.side].Programs[a.prog]
				if ps == nil {
					t.Errorf("attachment %s to %s: no such program kept", a.prog, a.symbol)
					continue
				}
				prefix := wantType[b].entry
				if a.exit {
					prefix = wantType[b].exit
				}
				if !strings.HasPrefix(ps.SectionName, prefix) {
					t.Errorf("attachment %s to %s (exit %v): section %s", a.prog, a.symbol, a.exit, ps.SectionName)
				}
				if b == Fentry && ps.AttachTo != a.symbol {
					t.Errorf("attachment %s to %s: program aimed at %q", a.prog, a.symbol, ps.AttachTo)
				}
			}
		})
	}
}
