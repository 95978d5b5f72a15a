package check

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nltrace/nltrace/internal/vm"
)

// TestReadGuest reads the suite's JSON out of a serial log, where the
// console ends lines with \r\n and other output surrounds the markers,
// and says what went wrong when it is not there.
func TestReadGuest(t *testing.T) {
	const id = "abc123"
	json := "{\r\n  \"kernels\": [{\"kernel\": \"6.1.0-57-cloud-amd64\", \"checks\": [{\"name\": \"lost-window\", \"value\": 2, \"verdict\": \"pass\"}]}],\r\n  \"status\": 0\r\n}\r\n"
	good := "SeaBIOS\r\n@@nltrace " + id + " begin release=6.1\r\nnltrace check: [1/1] inject\r\n\r\n@@nltrace " + id + " json\r\n" + json + "\r\n@@nltrace " + id + " end rc=0\r\n"
	r, problem := readGuest(good, id)
	if problem != "" || r.Kernel != "6.1.0-57-cloud-amd64" || len(r.Checks) != 1 || *r.Checks[0].Value != 2 {
		t.Fatalf("%+v, %q", r, problem)
	}
	for name, log := range map[string]string{
		"never reached /init":  "Kernel panic - not syncing\r\n",
		"stopped before":       "@@nltrace " + id + " begin\r\nBUG: soft lockup\r\n",
		"exited with status 1": "@@nltrace " + id + " begin\r\n@@nltrace " + id + " json\r\n\r\n@@nltrace " + id + " end rc=1\r\n",
		"never reached":        strings.ReplaceAll(good, id, "0ld1d0"), // an earlier run's markers
	} {
		if _, problem := readGuest(log, id); !strings.Contains(problem, name) {
			t.Errorf("%s: problem %q", name, problem)
		}
	}
}

func TestNltraceBinaries(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	got, err := NltraceBinaries("/usr/bin/nltrace", []string{self})
	if err != nil || got[vm.HostArch] != self || len(got) != 1 {
		t.Errorf("a later binary of the host's architecture: %v %v", got, err)
	}
	script := filepath.Join(t.TempDir(), "nltrace")
	os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755)
	if _, err := NltraceBinaries(self, []string{script}); err == nil || !strings.Contains(err.Error(), "want an nltrace binary") {
		t.Errorf("a script: %v", err)
	}
}

// TestInitScriptKeepsTheJSONApart: the suite's stdout goes to a file that
// is printed whole between markers; its exit status is reported.
func TestInitScriptKeepsTheJSONApart(t *testing.T) {
	s := initScript(&vm.Kernel{}, "abc123", []string{"/bin/nltrace", "check", "--json", "--config", "/check.json"})
	for _, want := range []string{
		"'/bin/nltrace' 'check' '--json' '--config' '/check.json' > /tmp/check.json; rc=$?",
		"@@nltrace abc123 json'; cat /tmp/check.json",
		"@@nltrace abc123 end rc=$rc",
		"poweroff -f",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("/init lacks %q:\n%s", want, s)
		}
	}
}

// TestWriteGuestPacksTheRun: the guest gets nltrace, the client under
// /client with the configuration pointing at it, the baseline to judge by,
// and an /init that runs the command it was given.
func TestWriteGuestPacksTheRun(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	k := &vm.Kernel{Spec: vm.Spec{Arch: vm.HostArch}, Busybox: file("busybox", "bb")}
	cfg := Config{Churn: DefaultChurn, Baseline: &Baseline{Kernel: "6.1", Facts: map[string]int{"lost-window": 0}},
		Client: &Client{Command: []string{file("my-client", "client"), "-count", "3"}, Duration: 1}}
	g := Guests{Nltrace: map[string]string{vm.HostArch: file("nltrace", "nl")},
		Args: func(c string) []string { return []string{"/bin/nltrace", "check", "--config", c} }}
	dst := filepath.Join(dir, "initrd")
	id, err := writeGuest(dst, k, cfg, g)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	files, _, err := vm.ReadArchive(data)
	if err != nil {
		t.Fatal(err)
	}
	if files["bin/nltrace"] != "nl" || files["client/my-client"] != "client" || files["bin/busybox"] != "bb" {
		t.Errorf("packed files: %v", slices.Sorted(maps.Keys(files)))
	}
	var got Config
	if err := json.Unmarshal([]byte(files["check.json"]), &got); err != nil {
		t.Fatal(err)
	}
	if c := got.Client; c == nil || strings.Join(c.Command, " ") != "/client/my-client -count 3" || got.Baseline.Facts["lost-window"] != 0 || got.Churn != DefaultChurn {
		t.Errorf("guest configuration: %s", files["check.json"])
	}
	if cfg.Client.Command[0] == "/client/my-client" {
		t.Error("the caller's configuration was changed")
	}
	if init := files["init"]; !strings.Contains(init, "'/bin/nltrace' 'check' '--config' '/check.json'") || !strings.Contains(init, "@@nltrace "+id+" end") {
		t.Errorf("/init:\n%s", init)
	}
}
