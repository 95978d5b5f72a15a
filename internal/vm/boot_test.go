package vm

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nltrace/nltrace/internal/testenv"
)

// TestBootPayload boots one kernel the way `nltrace check` does: Resolve,
// PackBase, Preamble and a payload of its own that reports between
// markers. NLTRACE_VM_BOOT_SPEC picks the kernel (default 6.12, which
// make vmtest caches anyway; 6.12-rt downloads about 70 MB). It boots
// QEMU, so it skips under -short and inside a guest; NLTRACE_REQUIRE=vm
// turns a missing QEMU or kernel into a failure.
func TestBootPayload(t *testing.T) {
	if testing.Short() {
		t.Skip("boots QEMU; skipped with -short")
	}
	if err := RefuseNested(); err != nil {
		t.Skip(err)
	}
	name := os.Getenv("NLTRACE_VM_BOOT_SPEC")
	if name == "" {
		name = "6.12"
	}
	cache := os.Getenv("NLTRACE_VM_CACHE")
	if cache == "" {
		cache = "/var/cache/nltrace-vm"
	}
	s, err := ParseSpec(name)
	if err != nil {
		t.Fatal(err)
	}
	var k *Kernel
	err = CheckHostTools([]Spec{s})
	if err == nil {
		k, err = Resolve(cache, s, testWriter{t})
	}
	testenv.Need(t, "vm", err)
	t.Logf("kernel %s", k)

	const runID = "0123abcd"
	dir := t.TempDir()
	initrd := filepath.Join(dir, "initrd.cpio")
	f, err := os.Create(initrd)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	a := NewArchive(bw)
	PackBase(a, k)
	a.Bytes("init", 0o755, []byte(Preamble(k)+
		"echo '@@nltrace "+runID+" begin'\n"+
		`echo "{\"release\":\"$(uname -r)\",\"veth\":$(grep -c '^veth ' /proc/modules),\"guest\":\"$`+GuestEnv+`\"}"`+"\n"+
		"echo '@@nltrace "+runID+" end rc=0'\n"+
		"poweroff -f\n"))
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	timeout := 2 * time.Minute * time.Duration(Arches[s.Arch].Slowdown)
	res, err := Boot(context.Background(), Guest{Kernel: k, Initrd: initrd, Log: filepath.Join(dir, "serial.log"), Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("booted in %.1fs under %s; QEMU: %v", res.Wall.Seconds(), res.Accel, res.QemuErr)
	ms := Markers(res.Output, "@@nltrace", runID)
	if res.TimedOut || len(ms) != 2 || ms[0].Word != "begin" || ms[1].Word != "end" || ms[1].Fields["rc"] != "0" {
		t.Fatalf("timed out %v, markers %+v; serial log:\n%s", res.TimedOut, ms, res.Output)
	}
	var got struct {
		Release string
		Veth    int
		Guest   string
	}
	if err := json.Unmarshal([]byte(res.Output[ms[0].End:ms[1].Start]), &got); err != nil {
		t.Fatalf("payload output: %v\n%s", err, res.Output)
	}
	if k.Spec.Image == "" && got.Release != k.Release {
		t.Errorf("guest runs %q, want %q", got.Release, k.Release)
	}
	if got.Veth != len(k.Modules)/len(wantedModules) || got.Guest != "1" {
		t.Errorf("payload saw veth loaded %d times and %s=%q; want it loaded once, and 1", got.Veth, GuestEnv, got.Guest)
	}
}
