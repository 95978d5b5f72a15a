package probe

import (
	"fmt"
	"net/netip"
	"unsafe"
)

// pfKworker is PF_KWORKER from include/linux/sched.h.
const pfKworker = 0x20

// Symbolizer names kernel addresses; nil leaves them as numbers.
type Symbolizer interface {
	Name(addr uint64) string
}

// Decode turns one ring-buffer record into a *Sample or a *Writer. Stack
// ids are left to the caller (Probe resolves them). A tracepoint
// backend's request record needs the requests before it: only Probe
// decodes those.
func Decode(raw []byte, syms Symbolizer) (any, error) {
	ev, _, err := decode(raw, syms)
	switch ev.(type) {
	case *request:
		return nil, fmt.Errorf("decode event: a request record stands for writers only with the requests before it (Probe.Read)")
	case *readyNoticeEvent:
		return nil, fmt.Errorf("decode event: a notice record stands for writers only with the notices before it (Probe.Read)")
	}
	return ev, err
}

// decode also returns a writer's stack id (negative: none).
func decode(raw []byte, syms Symbolizer) (any, int32, error) {
	if len(raw) == 0 {
		return nil, -1, fmt.Errorf("decode event: empty record")
	}
	switch dumpEventType(raw[0]) {
	case dumpEventTypeEVENT_CHUNK:
		var e dumpChunkEvent
		if err := read(raw, &e); err != nil {
			return nil, -1, err
		}
		return sampleFrom(&e, syms), -1, nil
	case dumpEventTypeEVENT_WRITER:
		var e writerWriterEvent
		if err := read(raw, &e); err != nil {
			return nil, -1, err
		}
		w, stack := writerFrom(&e)
		return w, stack, nil
	case dumpEventTypeEVENT_REQUEST:
		r := &request{}
		if err := read(raw, &r.e); err != nil {
			return nil, -1, err
		}
		return r, -1, nil
	case dumpEventTypeEVENT_NOTICE:
		e := &readyNoticeEvent{}
		if err := read(raw, e); err != nil {
			return nil, -1, err
		}
		return e, -1, nil
	}
	return nil, -1, fmt.Errorf("decode event: unknown type %d (probe and objects out of date?)", raw[0])
}

// read copies a record into its generated struct. The structs are plain
// integers with the host's layout (structs.HostLayout), so a copy is a
// decode; binary.Read would cost a reflection walk per event, on the CPU
// the dumps being measured also need.
func read[T dumpChunkEvent | writerWriterEvent | syscallRequestEvent | readyNoticeEvent](raw []byte, out *T) error {
	n := int(unsafe.Sizeof(*out))
	if len(raw) < n {
		return fmt.Errorf("decode event: %d bytes, want %d", len(raw), n)
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(out)), n), raw)
	return nil
}

func sampleFrom(e *dumpChunkEvent, syms Symbolizer) *Sample {
	return &Sample{
		Start: e.TsStart, End: e.TsEnd, NetNS: e.Netns, PortID: e.Portid, Seq: e.ReqSeq,
		MsgType: e.MsgType, Handler: handlerName(e.Handler, e.HandlerData, syms),
		PrevSeqBefore: e.PrevSeqBefore, SeqBefore: e.SeqBefore,
		PrevSeqAfter: e.PrevSeqAfter, SeqAfter: e.SeqAfter,
		Counters: Counters{e.DevBaseSeq, e.AddrGenid4, e.AddrGenid6, e.NexthopSeq},
		Bytes:    int(e.Bytes), Ret: e.Ret, FirstFlags: e.FirstFlags,
		Flagged: e.Flagged != 0, Done: e.Done != 0, DoneFlagged: e.DoneFlagged != 0, Lost: e.Lost != 0,
		PID: e.Pid, TID: e.Tid, Comm: cstring(e.Comm[:]),
	}
}

// writerFrom also returns the event's stack id (negative: none).
func writerFrom(e *writerWriterEvent) (*Writer, int32) {
	w := &Writer{
		Time: e.Ts, Op: Op(e.Op), Counter: Counter(e.Counter), Before: e.Before, NetNS: e.Netns,
		Ifindex: e.Ifindex, Ifname: cstring(e.Ifname[:]), PrefixLen: int(e.Prefixlen),
		PID: e.Pid, TID: e.Tid, Comm: cstring(e.Comm[:]), Worker: e.TaskFlags&pfKworker != 0,
		Context: Context(e.Context),
	}
	switch w.Op {
	case Addr4Add, Addr4Del:
		w.Addr = netip.AddrFrom4([4]byte(e.Addr[:4]))
	case Addr6New, Addr6Del:
		w.Addr = netip.AddrFrom16(e.Addr)
	}
	return w, e.StackId
}

// handlerName names the dump callback; since 6.10 rtnetlink wraps most
// handlers in rtnl_dumpit, which keeps the real one in cb->data.
func handlerName(dump, data uint64, syms Symbolizer) string {
	if dump == 0 {
		return "" // the tracepoint backend does not see it
	}
	name := symbol(dump, syms)
	if name == "rtnl_dumpit" && data != 0 {
		return symbol(data, syms)
	}
	return name
}

func symbol(addr uint64, syms Symbolizer) string {
	if syms != nil {
		if s := syms.Name(addr); s != "" {
			return s
		}
	}
	return fmt.Sprintf("%#x", addr)
}

func cstring[T int8 | uint8](b []T) string {
	s := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}
