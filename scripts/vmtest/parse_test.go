package main

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/nltrace/nltrace/internal/vm"
)

func TestParseLogVerdicts(t *testing.T) {
	const id = "abc123"
	tests := []struct {
		name, log, want string
		passed, failed  int
	}{
		{"pass", "@@vmtest abc123 begin pkg=./p\n--- PASS: TestA (0.00s)\n    --- SKIP: TestA/sub (0.00s)\n@@vmtest abc123 end pkg=./p rc=0 secs=1.5\n", "ok", 1, 0},
		{"fail line", "@@vmtest abc123 begin pkg=./p\r\n--- FAIL: TestA (0.00s)\r\n@@vmtest abc123 end pkg=./p rc=1 secs=1\r\n", "FAIL", 0, 1},
		{"exit only", "@@vmtest abc123 begin pkg=./p\npanic: boom\n@@vmtest abc123 end pkg=./p rc=2 secs=1\n", "FAIL (exit 2)", 0, 0},
		{"timeout", "@@vmtest abc123 begin pkg=./p\npanic: test timed out after 5m0s\n\trunning tests:\n\t\tTestB (4m54s)\n@@vmtest abc123 end pkg=./p rc=2 secs=300\n", "FAIL (exit 2)", 0, 0},
		{"no end", "@@vmtest abc123 begin pkg=./p\n--- PASS: TestA (0.00s)\n", "NO END MARKER", 1, 0},
		{"other run", "@@vmtest ffffff begin pkg=./p\n@@vmtest ffffff end pkg=./p rc=0 secs=1\n", "NOT RUN", 0, 0},
		{"kernel noise", "[ 1.0] x @@vmtest abc123 begin pkg=./p\n@@vmtest abc123 end pkg=./p rc=0 secs=1\n", "ok", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := parseLog(tt.log, id)
			r := rep.Pkgs["./p"]
			if got := verdict(testPkg{Rel: "p"}, r); got != tt.want {
				t.Errorf("verdict %q, want %q", got, tt.want)
			}
			if tt.name == "timeout" && !slices.Equal(r.FailedTests, []string{"TestB (hung)"}) {
				t.Errorf("hung tests %q, want TestB", r.FailedTests)
			}
			if r != nil && (r.Passed != tt.passed || r.Failed != tt.failed) {
				t.Errorf("passed %d failed %d, want %d %d", r.Passed, r.Failed, tt.passed, tt.failed)
			}
		})
	}
}

func TestMatrixNeverPassesSilence(t *testing.T) {
	k := &vm.Kernel{Release: "6.12.0-test", Spec: vm.Spec{Series: "6.12", Flavour: "cloud", Arch: "amd64"}}
	pkgs := []testPkg{{Rel: "p"}}
	done := "@@vmtest id boot release=6.12.0-test require=root\n@@vmtest id begin pkg=./p\n@@vmtest id end pkg=./p rc=0 secs=1\n@@vmtest id done\n"
	tests := []struct {
		name string
		run  guestRun
		ok   bool
	}{
		{"complete", guestRun{Kernel: k, Pkgs: pkgs, Result: &bootResult{Report: parseLog(done, "id")}}, true},
		{"empty log", guestRun{Kernel: k, Pkgs: pkgs, Result: &bootResult{Report: parseLog("", "id")}}, false},
		{"no done", guestRun{Kernel: k, Pkgs: pkgs, Result: &bootResult{Report: parseLog(strings.TrimSuffix(done, "@@vmtest id done\n"), "id")}}, false},
		{"timed out", guestRun{Kernel: k, Pkgs: pkgs, Result: &bootResult{Result: vm.Result{TimedOut: true}, Report: parseLog(done, "id")}}, false},
		{"not started", guestRun{Kernel: k, Pkgs: pkgs, Err: errors.New("no qemu")}, false},
		{"build failed", guestRun{Kernel: k, Pkgs: []testPkg{{Rel: "p", BuildErr: errors.New("x")}}}, false},
		{"nltrace build failed", guestRun{Kernel: k, Pkgs: pkgs, BuildErr: errors.New("x"), Result: &bootResult{Report: parseLog(done, "id")}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			if got := writeMatrix(&out, []*guestRun{&tt.run}); got != tt.ok {
				t.Errorf("writeMatrix = %v, want %v\n%s", got, tt.ok, out.String())
			}
		})
	}
}

func TestRequirements(t *testing.T) {
	base := map[string]string{"VETH": "m", "DUMMY": "m", "BPF_SYSCALL": "y", "BPF_JIT": "y", "DEBUG_INFO_BTF": "y",
		"KPROBES": "y", "KPROBE_EVENTS": "y", "BPF_EVENTS": "y", "FUNCTION_TRACER": "y", "DYNAMIC_FTRACE_WITH_DIRECT_CALLS": "y"}
	if got, want := requirements(base), []string{"root", "veth", "dummy", "kprobe", "fentry"}; !slices.Equal(got, want) {
		t.Errorf("6.1-like config: %v, want %v", got, want)
	}
	base["FPROBE"] = "y"
	if got := requirements(base); !slices.Contains(got, "kprobe_multi") {
		t.Errorf("FPROBE=y: %v lacks kprobe_multi", got)
	}
	base["FTRACE_SYSCALLS"] = "y"
	if got := requirements(base); !slices.Contains(got, "tracepoint") {
		t.Errorf("FTRACE_SYSCALLS=y: %v lacks tracepoint", got)
	}
	if got, want := requirements(map[string]string{}), []string{"root"}; !slices.Equal(got, want) {
		t.Errorf("empty config: %v, want %v", got, want)
	}
}
