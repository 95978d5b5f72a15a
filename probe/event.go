package probe

import (
	"fmt"
	"net/netip"
)

// Counters are a namespace's generation counters, as a chunk sample saw
// them when its handler returned.
type Counters struct {
	DevBaseSeq uint32 `json:"dev_base_seq"`
	AddrGenID4 uint32 `json:"addr_genid4"`
	AddrGenID6 uint32 `json:"addr_genid6"`
	NexthopSeq uint32 `json:"nexthop_seq"`
}

// Get returns one counter.
func (c Counters) Get(id Counter) uint32 {
	switch id {
	case DevBaseSeq:
		return c.DevBaseSeq
	case AddrGenID4:
		return c.AddrGenID4
	case AddrGenID6:
		return c.AddrGenID6
	case NexthopSeq:
		return c.NexthopSeq
	}
	return 0
}

// Sample is the kernel's view of one chunk of a dump: one call of a dump
// handler, which builds one datagram.
type Sample struct {
	Start   uint64 `json:"start_ns"` // CLOCK_MONOTONIC at handler entry
	End     uint64 `json:"end_ns"`   // at handler exit
	NetNS   uint64 `json:"netns"`
	PortID  uint32 `json:"port_id"`
	Seq     uint32 `json:"seq"` // of the request
	MsgType uint16 `json:"msg_type"`
	Handler string `json:"handler"`
	// The callback's sequence numbers before and after the handler ran:
	// the chunk is flagged when PrevSeqBefore != 0 && SeqAfter != PrevSeqBefore.
	PrevSeqBefore uint32   `json:"prev_seq_before"`
	SeqBefore     uint32   `json:"seq_before"`
	PrevSeqAfter  uint32   `json:"prev_seq_after"`
	SeqAfter      uint32   `json:"seq_after"`
	Counters      Counters `json:"counters"`
	Bytes         int      `json:"bytes"`
	Ret           int32    `json:"ret"`
	FirstFlags    uint16   `json:"first_flags"`
	Flagged       bool     `json:"flagged"`                // the first header carries NLM_F_DUMP_INTR
	Done          bool     `json:"done"`                   // NLMSG_DONE follows
	DoneFlagged   bool     `json:"done_flagged,omitempty"` // and carries the flag
	Lost          bool     `json:"lost,omitempty"`         // the counter moved, no message carries it
	PID           uint32   `json:"pid"`
	TID           uint32   `json:"tid"`
	Comm          string   `json:"comm"`
}

// DumpKey joins a chunk to the userspace dump it belongs to.
type DumpKey struct {
	NetNS  uint64
	PortID uint32
	Seq    uint32
}

// DumpKey returns the chunk's dump key.
func (c *Sample) DumpKey() DumpKey { return DumpKey{c.NetNS, c.PortID, c.Seq} }

// Counter names a generation counter.
type Counter uint8

const (
	DevBaseSeq Counter = Counter(dumpCounterIdCOUNTER_DEV_BASE_SEQ)
	AddrGenID4 Counter = Counter(dumpCounterIdCOUNTER_ADDR_GENID4)
	AddrGenID6 Counter = Counter(dumpCounterIdCOUNTER_ADDR_GENID6)
	NexthopSeq Counter = Counter(dumpCounterIdCOUNTER_NEXTHOP_SEQ)
)

var counterNames = map[Counter]string{
	DevBaseSeq: "dev_base_seq", AddrGenID4: "ipv4.dev_addr_genid",
	AddrGenID6: "ipv6.dev_addr_genid", NexthopSeq: "nexthop.seq",
}

func (c Counter) String() string {
	if s, ok := counterNames[c]; ok {
		return s
	}
	return fmt.Sprintf("counter(%d)", uint8(c))
}

// MarshalText makes counters readable in JSON.
func (c Counter) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads a counter's name.
func (c *Counter) UnmarshalText(b []byte) error { return unmarshalName(counterNames, c, b) }

// Op is what a writer did.
type Op uint8

const (
	Register     = Op(writerWriterOpOP_REGISTER)
	Unregister   = Op(writerWriterOpOP_UNREGISTER)
	MoveIn       = Op(writerWriterOpOP_MOVE_IN)
	MoveOut      = Op(writerWriterOpOP_MOVE_OUT)
	Addr4Add     = Op(writerWriterOpOP_ADDR4ADD)
	Addr4Del     = Op(writerWriterOpOP_ADDR4DEL)
	LinkUp       = Op(writerWriterOpOP_LINK_UP)
	Addr6New     = Op(writerWriterOpOP_ADDR6NEW)
	Addr6Del     = Op(writerWriterOpOP_ADDR6DEL)
	NexthopNew   = Op(writerWriterOpOP_NEXTHOP_NEW)
	NexthopDel   = Op(writerWriterOpOP_NEXTHOP_DEL)
	NexthopFlush = Op(writerWriterOpOP_NEXTHOP_FLUSH)
)

var opNames = map[Op]string{
	Register: "register", Unregister: "unregister", MoveIn: "move-in", MoveOut: "move-out",
	Addr4Add: "addr4-add", Addr4Del: "addr4-del", LinkUp: "link-up",
	Addr6New: "addr6-new", Addr6Del: "addr6-del",
	NexthopNew: "nexthop-new", NexthopDel: "nexthop-del", NexthopFlush: "nexthop-flush",
}

func (o Op) String() string {
	if s, ok := opNames[o]; ok {
		return s
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// MarshalText makes operations readable in JSON.
func (o Op) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText reads an operation's name.
func (o *Op) UnmarshalText(b []byte) error { return unmarshalName(opNames, o, b) }

func unmarshalName[T comparable](names map[T]string, out *T, b []byte) error {
	for v, name := range names {
		if name == string(b) {
			*out = v
			return nil
		}
	}
	return fmt.Errorf("unknown name %q", b)
}

// Writer is one call that bumps (or, for nexthop requests that fail, may
// bump) a generation counter by one.
type Writer struct {
	Time      uint64     `json:"time_ns"` // CLOCK_MONOTONIC
	Op        Op         `json:"op"`
	Counter   Counter    `json:"counter"`
	Before    uint32     `json:"before"` // the counter's value before the bump
	NetNS     uint64     `json:"netns"`
	Ifindex   int32      `json:"ifindex,omitempty"`
	Ifname    string     `json:"ifname,omitempty"`
	Addr      netip.Addr `json:"addr,omitzero"`
	PrefixLen int        `json:"prefix_len,omitempty"`
	PID       uint32     `json:"pid"`
	TID       uint32     `json:"tid"`
	Comm      string     `json:"comm"`
	// Worker is set when a kernel worker did it (IPv6 DAD completion,
	// address lifetimes): the process named is not the cause.
	Worker  bool    `json:"worker,omitempty"`
	Context Context `json:"context"`
	// Request is the rtnetlink request that made the bump, as the
	// tracepoint backend sees writers (RTM_NEWLINK...): it sees requests,
	// not the kernel functions the other backends name by Op.
	Request string `json:"request,omitempty"`
	// Notified marks a change the kernel made by itself (IPv6 duplicate
	// address detection, a namespace going away), known from an rtnetlink
	// notification with no requester: Before is unknown, and Time is when
	// the notification was read. The tracepoint backend's runs add them.
	Notified bool     `json:"notified,omitempty"`
	Stack    []string `json:"stack,omitempty"`
	// StackError says why a stack asked for (Config.Stacks) is missing:
	// "file exists" is the stack map's hash already holding another stack.
	StackError string `json:"stack_error,omitempty"`
}

// Context is where a writer ran.
type Context uint8

const (
	ContextUnknown = Context(writerContextCONTEXT_UNKNOWN)
	ContextTask    = Context(writerContextCONTEXT_TASK)
	ContextSoftirq = Context(writerContextCONTEXT_SOFTIRQ)
	ContextHardirq = Context(writerContextCONTEXT_HARDIRQ)
)

var contextNames = map[Context]string{ContextUnknown: "unknown", ContextTask: "task", ContextSoftirq: "softirq", ContextHardirq: "hardirq"}

func (c Context) String() string {
	if s, ok := contextNames[c]; ok {
		return s
	}
	return fmt.Sprintf("context(%d)", uint8(c))
}

// MarshalText makes contexts readable in JSON.
func (c Context) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads a context's name.
func (c *Context) UnmarshalText(b []byte) error { return unmarshalName(contextNames, c, b) }

// Interrupt reports whether the event ran in an interrupt, borrowing
// whatever task was running: the task named is then not the cause. IPv6
// address updates from router advertisements do that. When the probe
// could not read the preempt count, IPv6 updates are presumed possible
// interrupts.
func (w *Writer) Interrupt() bool {
	if w.Notified {
		return false // not seen where it ran
	}
	switch w.Context {
	case ContextSoftirq, ContextHardirq:
		return true
	case ContextUnknown:
		return w.Op == Addr6New && !w.Worker
	}
	return false
}

// Subject names what the writer changed: a device, an address, a nexthop.
func (w *Writer) Subject() string {
	switch {
	case w.Addr.IsValid():
		return fmt.Sprintf("%s/%d on %s", w.Addr, w.PrefixLen, w.device())
	case w.Ifname != "", w.Ifindex != 0:
		return w.device()
	}
	return ""
}

// device names the writer's device; requests that name a device by index
// only (address changes) leave the name to the reader.
func (w *Writer) device() string {
	if w.Ifname != "" {
		return w.Ifname
	}
	return fmt.Sprintf("ifindex %d", w.Ifindex)
}

func (w *Writer) String() string {
	s := w.Op.String()
	if sub := w.Subject(); sub != "" {
		s += " " + sub
	}
	who := fmt.Sprintf("%s[%d]", w.Comm, w.PID)
	if w.Notified {
		return fmt.Sprintf("%s by the kernel itself (a notification with no requester; %s moved)", s, w.Counter)
	}
	switch {
	case w.Worker:
		who = "kernel worker " + w.Comm
	case w.Interrupt() && w.Context == ContextUnknown:
		who = "a softirq, or " + who
	case w.Interrupt():
		who = fmt.Sprintf("%s (interrupting %s)", w.Context, who)
	}
	if w.Request != "" {
		who += " with " + w.Request
	}
	if w.Op.MayNotBump() && w.Request == "" {
		return fmt.Sprintf("%s by %s (%s was %d)", s, who, w.Counter, w.Before)
	}
	return fmt.Sprintf("%s by %s (%s %d->%d)", s, who, w.Counter, w.Before, w.Before+1)
}

// MayNotBump reports whether the operation is recorded when it starts but
// may leave its counter alone: a nexthop request can fail, and a device
// going away flushes nexthops only when it had some.
func (o Op) MayNotBump() bool { return o == NexthopNew || o == NexthopDel || o == NexthopFlush }
