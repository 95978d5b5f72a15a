package check

import (
	"os"
	"path/filepath"
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
