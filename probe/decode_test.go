package probe

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"unsafe"
)

func encode(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := binary.Write(&b, binary.NativeEndian, v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func comm[T int8 | uint8](s string) (out [16]T) {
	for i := range min(len(s), 15) {
		out[i] = T(s[i])
	}
	return out
}

var testSyms = mustKallsyms(`ffffffff81000000 T _text
ffffffff81a00000 t rtnl_dump_ifinfo
ffffffff81a01000 t rtnl_dumpit
ffffffff81a02000 t inet_dump_ifaddr
ffffffff81b00000 t list_netdevice
ffffffffc0000000 t dummy_setup	[dummy]
ffffffff81c00000 d some_data
`)

func mustKallsyms(s string) *Kallsyms {
	k, err := parseKallsyms(strings.NewReader(s))
	if err != nil {
		panic(err)
	}
	return k
}

func TestDecodeChunk(t *testing.T) {
	tests := []struct {
		name          string
		handler, data uint64
		want          string
	}{
		{"direct", 0xffffffff81a00000, 0, "rtnl_dump_ifinfo"},
		{"behind rtnl_dumpit", 0xffffffff81a01000, 0xffffffff81a02000, "inet_dump_ifaddr"},
		{"rtnl_dumpit after the walk", 0xffffffff81a01000, 0, "rtnl_dumpit"},
		{"unknown", 0x1234, 0, "0x1234"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := encode(t, dumpChunkEvent{
				Type: uint8(dumpEventTypeEVENT_CHUNK), Flagged: 1, Done: 0, Lost: 0,
				MsgType: 18, FirstFlags: 0x12, Pid: 10, Tid: 11, Portid: 12, ReqSeq: 13,
				TsStart: 100, TsEnd: 200, Netns: 4026531840, Handler: tt.handler, HandlerData: tt.data,
				PrevSeqBefore: 5, SeqBefore: 5, PrevSeqAfter: 6, SeqAfter: 6,
				DevBaseSeq: 6, AddrGenid4: 7, AddrGenid6: 8, NexthopSeq: 9, Bytes: 4000, Ret: 4000,
				Comm: comm[int8]("ip"),
			})
			if len(raw) != int(unsafe.Sizeof(dumpChunkEvent{})) {
				t.Fatalf("encoded %d bytes, struct is %d", len(raw), unsafe.Sizeof(dumpChunkEvent{}))
			}
			ev, err := Decode(raw, testSyms)
			if err != nil {
				t.Fatal(err)
			}
			c, ok := ev.(*Sample)
			if !ok {
				t.Fatalf("decoded %T, want *Sample", ev)
			}
			want := Sample{Start: 100, End: 200, NetNS: 4026531840, PortID: 12, Seq: 13, MsgType: 18, Handler: tt.want,
				PrevSeqBefore: 5, SeqBefore: 5, PrevSeqAfter: 6, SeqAfter: 6, Counters: Counters{6, 7, 8, 9},
				Bytes: 4000, Ret: 4000, FirstFlags: 0x12, Flagged: true, PID: 10, TID: 11, Comm: "ip"}
			if *c != want {
				t.Errorf("decoded\n%+v, want\n%+v", *c, want)
			}
			if c.DumpKey() != (DumpKey{4026531840, 12, 13}) {
				t.Errorf("key %+v", c.DumpKey())
			}
		})
	}
}

func TestDecodeWriter(t *testing.T) {
	v6 := netip.MustParseAddr("2001:db8::1")
	tests := []struct {
		name   string
		ev     writerWriterEvent
		addr   netip.Addr
		stack  int32
		worker bool
		text   string
	}{{
		name: "register",
		ev: writerWriterEvent{Op: uint8(writerWriterOpOP_REGISTER), Counter: uint8(dumpCounterIdCOUNTER_DEV_BASE_SEQ),
			Before: 41, Ifindex: 7, Ifname: comm[int8]("veth0"), StackId: -1},
		stack: -1, text: "register veth0 by ip[1] (dev_base_seq 41->42)",
	}, {
		name: "ipv4 address",
		ev: writerWriterEvent{Op: uint8(writerWriterOpOP_ADDR4ADD), Counter: uint8(dumpCounterIdCOUNTER_ADDR_GENID4),
			Before: 3, Prefixlen: 24, Ifname: comm[int8]("eth0"), Addr: [16]uint8{192, 0, 2, 1}, StackId: 5},
		addr: netip.MustParseAddr("192.0.2.1"), stack: 5, text: "addr4-add 192.0.2.1/24 on eth0 by ip[1] (ipv4.dev_addr_genid 3->4)",
	}, {
		name: "ipv6 DAD in a worker",
		ev: writerWriterEvent{Op: uint8(writerWriterOpOP_ADDR6NEW), Counter: uint8(dumpCounterIdCOUNTER_ADDR_GENID6),
			Before: 9, Prefixlen: 64, Ifname: comm[int8]("eth0"), Addr: v6.As16(), TaskFlags: pfKworker, StackId: -1},
		addr: v6, stack: -1, worker: true, text: "addr6-new 2001:db8::1/64 on eth0 by kernel worker ip",
	}, {
		name: "ipv6 router advertisement in softirq",
		ev: writerWriterEvent{Op: uint8(writerWriterOpOP_ADDR6NEW), Counter: uint8(dumpCounterIdCOUNTER_ADDR_GENID6),
			Before: 9, Prefixlen: 64, Ifname: comm[int8]("eth0"), Addr: v6.As16(), Context: uint8(writerContextCONTEXT_SOFTIRQ), StackId: -1},
		addr: v6, stack: -1, text: "addr6-new 2001:db8::1/64 on eth0 by softirq (interrupting ip[1])",
	}, {
		name: "ipv6 address, context unknown",
		ev: writerWriterEvent{Op: uint8(writerWriterOpOP_ADDR6NEW), Counter: uint8(dumpCounterIdCOUNTER_ADDR_GENID6),
			Before: 9, Prefixlen: 64, Ifname: comm[int8]("eth0"), Addr: v6.As16(), StackId: -1},
		addr: v6, stack: -1, text: "addr6-new 2001:db8::1/64 on eth0 by a softirq, or ip[1]",
	}, {
		name: "ipv6 address by a task",
		ev: writerWriterEvent{Op: uint8(writerWriterOpOP_ADDR6NEW), Counter: uint8(dumpCounterIdCOUNTER_ADDR_GENID6),
			Before: 9, Prefixlen: 64, Ifname: comm[int8]("eth0"), Addr: v6.As16(), Context: uint8(writerContextCONTEXT_TASK), StackId: -1},
		addr: v6, stack: -1, text: "addr6-new 2001:db8::1/64 on eth0 by ip[1] (",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.ev.Type = uint8(dumpEventTypeEVENT_WRITER)
			tt.ev.Pid, tt.ev.Comm = 1, comm[int8]("ip")
			ev, stack, err := decode(encode(t, tt.ev), nil)
			if err != nil {
				t.Fatal(err)
			}
			w := ev.(*Writer)
			if w.Addr != tt.addr || stack != tt.stack || w.Worker != tt.worker {
				t.Errorf("decoded %+v stack %d", w, stack)
			}
			if !strings.HasPrefix(w.String(), tt.text) {
				t.Errorf("String() = %q, want prefix %q", w.String(), tt.text)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	full := encode(t, dumpChunkEvent{Type: uint8(dumpEventTypeEVENT_CHUNK)})
	for name, raw := range map[string][]byte{
		"empty":        nil,
		"unknown type": {99, 0, 0, 0},
		"truncated":    full[:len(full)-1],
	} {
		if _, err := Decode(raw, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestKallsyms(t *testing.T) {
	if !testSyms.Has("list_netdevice") || testSyms.Has("dummy_setup") || testSyms.Has("some_data") {
		t.Errorf("Has: want vmlinux text symbols only")
	}
	if got := testSyms.Frame(0xffffffff81b00005); got != "list_netdevice+0x5" {
		t.Errorf("Frame = %q", got)
	}
	if got := testSyms.Frame(0xffffffffc0000010); got != "dummy_setup [dummy]+0x10" {
		t.Errorf("Frame = %q", got)
	}
	if got := testSyms.Frame(0xffffffffa0000000); got != "0xffffffffa0000000" {
		t.Errorf("Frame far from any symbol = %q", got)
	}
}

func TestParseBackend(t *testing.T) {
	for s, want := range map[string]Backend{"auto": Auto, "FENTRY": Fentry, "kprobe": Kprobe} {
		if b, err := ParseBackend(s); err != nil || b != want {
			t.Errorf("ParseBackend(%q) = %v, %v", s, b, err)
		}
	}
	if _, err := ParseBackend("uprobe"); err == nil {
		t.Error("ParseBackend(uprobe): no error")
	}
}

func BenchmarkDecodeChunk(b *testing.B) {
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.NativeEndian, dumpChunkEvent{Type: uint8(dumpEventTypeEVENT_CHUNK), Handler: 0xffffffff81a00000}); err != nil {
		b.Fatal(err)
	}
	raw := buf.Bytes()
	for b.Loop() {
		if _, err := Decode(raw, testSyms); err != nil {
			b.Fatal(err)
		}
	}
}
