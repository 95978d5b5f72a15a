package nlclient

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nltrace/nltrace/internal/testenv"
)

// Recorded dumps: real datagrams from a kernel, replayed through a fake
// socket. NLTRACE_RECORD=1 (as root) records them again.

type recording struct {
	Kind             Kind   `json:"kind"`
	Seq              uint32 `json:"seq"`
	PortID           uint32 `json:"port_id"`
	Objects          int    `json:"objects"`
	Chunks           int    `json:"chunks"`
	FirstInterrupted int    `json:"first_interrupted"`
	Kernel           string `json:"kernel"`
}

const recordDir = "testdata/recorded"

func TestRecordedDumps(t *testing.T) {
	if os.Getenv("NLTRACE_RECORD") == "1" {
		record(t)
	}
	metas, _ := filepath.Glob(filepath.Join(recordDir, "*.json"))
	if len(metas) == 0 {
		t.Fatal("no recordings in " + recordDir)
	}
	for _, meta := range metas {
		t.Run(filepath.Base(meta), func(t *testing.T) {
			rec, datagrams := loadRecording(t, strings.TrimSuffix(filepath.Base(meta), ".json"))
			c, _ := fakeClient(func(int, uint32, uint32) [][]byte { return datagrams })
			fs := c.sock.(*fakeSocket)
			fs.seq, fs.pid = rec.Seq-1, rec.PortID
			r, err := c.Dump(context.Background(), rec.Kind, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Objects) != rec.Objects || len(r.Chunks) != rec.Chunks || r.FirstInterrupted != rec.FirstInterrupted {
				t.Errorf("%d objects, %d chunks, flag on %d; recorded on %s: %d, %d, %d", len(r.Objects), len(r.Chunks),
					r.FirstInterrupted, rec.Kernel, rec.Objects, rec.Chunks, rec.FirstInterrupted)
			}
			if cons := Check(r, nil); !cons.OK() {
				t.Errorf("repeated objects %v", cons.Repeated)
			}
		})
	}
}

// loadRecording reads the recording NAME (link, addr4, ...).
func loadRecording(t testing.TB, name string) (recording, [][]byte) {
	t.Helper()
	var rec recording
	base := filepath.Join(recordDir, name)
	b, err := os.ReadFile(base + ".json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	return rec, readDatagrams(t, base+".bin")
}

func readDatagrams(t testing.TB, path string) [][]byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for len(b) >= 4 {
		n := int(binary.LittleEndian.Uint32(b))
		if 4+n > len(b) {
			t.Fatalf("%s: truncated recording", path)
		}
		out = append(out, b[4:4+n])
		b = b[4+n:]
	}
	return out
}

// recorder keeps a copy of every datagram a socket reads.
type recorder struct {
	socket
	datagrams [][]byte
}

func (r *recorder) Recv(b []byte) (int, error) {
	n, err := r.socket.Recv(b)
	if err == nil && n <= len(b) {
		r.datagrams = append(r.datagrams, append([]byte(nil), b[:n]...))
	}
	return n, err
}

func record(t *testing.T) {
	path := testenv.NetNS(t)
	c, err := Dial(Target{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	populate(t, c, 120)
	lo, err := c.LinkIndex("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetLinkUp(lo, true); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 40; i++ {
		must(t, c.AddAddr(lo, netip.MustParsePrefix(fmt.Sprintf("10.9.%d.%d/16", i/250, i%250+1))))
		must(t, c.AddAddr(lo, netip.MustParsePrefix(fmt.Sprintf("fd00::%x/64", i))))
		must(t, c.AddNexthop(uint32(i)))
	}
	writer, err := Dial(Target{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	uname, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	for _, k := range []Kind{Link, Addr4, Addr6, Route4, Route6, Nexthop, Stats} {
		rec := &recorder{socket: c.sock}
		c.sock = rec
		opt := Options{}
		if k == Link {
			opt.OnChunk = func(ch Chunk) error {
				if ch.Index == 2 {
					return writer.AddLink("recorded", "veth", "recorded-peer")
				}
				return nil
			}
		}
		r, err := c.Dump(context.Background(), k, opt)
		c.sock = rec.socket
		if err != nil {
			t.Fatal(err)
		}
		var bin []byte
		for _, d := range rec.datagrams {
			bin = binary.LittleEndian.AppendUint32(bin, uint32(len(d)))
			bin = append(bin, d...)
		}
		meta, _ := json.MarshalIndent(recording{Kind: k, Seq: r.Seq, PortID: r.PortID, Objects: len(r.Objects),
			Chunks: len(r.Chunks), FirstInterrupted: r.FirstInterrupted, Kernel: string(uname[:len(uname)-1])}, "", "  ")
		base := filepath.Join(recordDir, k.String())
		must(t, os.MkdirAll(recordDir, 0o755))
		must(t, os.WriteFile(base+".bin", bin, 0o644))
		must(t, os.WriteFile(base+".json", append(meta, '\n'), 0o644))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
