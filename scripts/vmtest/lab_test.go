package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nltrace/nltrace/internal/testenv"
	"github.com/nltrace/nltrace/internal/vm"
)

// labClients are the Go clients of testdata/clients; its ip client needs
// iproute2's ip, which the guests lack.
var labClients = []string{"vnl-v1.1.0", "vnl-v1.2.1", "vnl-v1.3.1"}

// TestInitramfsCarriesLab: the guests have no Go toolchain to build the
// client lab (testdata/clients) with, so the archive carries the clients
// built for the guest and /init tells the tests where they are.
func TestInitramfsCarriesLab(t *testing.T) {
	dir := t.TempDir()
	bb := filepath.Join(dir, "busybox")
	os.WriteFile(bb, []byte("arm64 busybox"), 0o755)
	var lab []string
	for _, name := range labClients {
		p := filepath.Join(dir, "lab", name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(name+" for arm64"), 0o755)
		lab = append(lab, p)
	}
	k := &vm.Kernel{Spec: vm.Spec{Series: "6.12", Flavour: "cloud", Arch: "arm64"}, Busybox: bb}

	dst := filepath.Join(dir, "initrd.cpio")
	if err := writeInitramfs(dst, dir, k, guestOptions{RunID: "x", HasLab: true}, nil, "", lab); err != nil {
		t.Fatal(err)
	}
	files := readNewc(t, dst)
	for _, name := range labClients {
		if got, want := files["lab/"+name], name+" for arm64"; got != want {
			t.Errorf("lab/%s holds %q, want %q", name, got, want)
		}
	}
	if init := files["init"]; !strings.Contains(init, "\nexport NLTRACE_LAB_BIN=/lab\n") {
		t.Errorf("/init does not export NLTRACE_LAB_BIN=/lab:\n%s", init)
	}

	// Without clients there is no /lab to point at.
	if err := writeInitramfs(dst, dir, k, guestOptions{RunID: "x"}, nil, "", nil); err != nil {
		t.Fatal(err)
	}
	files = readNewc(t, dst)
	if strings.Contains(files["init"], "NLTRACE_LAB_BIN") {
		t.Errorf("/init sets NLTRACE_LAB_BIN without a lab:\n%s", files["init"])
	}
	for name := range files {
		if strings.HasPrefix(name, "lab/") {
			t.Errorf("%s packed without a lab", name)
		}
	}
}

// TestBuildLabForGuestArch builds the lab as the harness does, for each
// guest architecture: static binaries of that architecture, and no
// ip-client (it needs iproute2's ip, which the guests lack).
func TestBuildLabForGuestArch(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the client lab; skipped with -short")
	}
	if _, err := exec.LookPath("go"); err != nil {
		testenv.Need(t, "lab", err) // inside a guest
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"amd64", "arm64"} {
		t.Run(a, func(t *testing.T) {
			bins, err := buildLab(root, a, t.TempDir())
			if err != nil {
				testenv.Need(t, "lab", err) // no module cache or proxy
			}
			var names []string
			for _, b := range bins {
				names = append(names, filepath.Base(b))
				if err := vm.CheckStatic(b, a); err != nil {
					t.Errorf("%s: %v", b, err)
				}
			}
			if !slices.Equal(names, labClients) {
				t.Errorf("built %q, want %q", names, labClients)
			}
		})
	}
}

// TestBuildLabReportsFailure: a client that does not build is an error
// naming it, with the compiler's output, not a client silently missing.
func TestBuildLabReportsFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go build; skipped with -short")
	}
	if _, err := exec.LookPath("go"); err != nil {
		testenv.Need(t, "lab", err)
	}
	root := t.TempDir()
	for name, data := range map[string]string{
		"testdata/clients/ip/ip-client.sh":    "#!/bin/sh\n",
		"testdata/clients/vnl-v9.9.9/go.mod":  "module example.com/broken\n\ngo 1.22\n",
		"testdata/clients/vnl-v9.9.9/main.go": "package main\n\nfunc main() { undefinedCall() }\n",
	} {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bins, err := buildLab(root, "arm64", t.TempDir())
	if err == nil {
		t.Fatalf("a broken client built: %q", bins)
	}
	t.Log(err)
	for _, want := range []string{"client lab", "arm64", "vnl-v9.9.9", "undefinedCall"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}
