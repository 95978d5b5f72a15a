//go:build linux

package probe

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"
)

// Config selects what the probe watches.
type Config struct {
	Backend Backend
	// NetNS keeps only dumps and writers of the namespace with this inode
	// (0: every namespace).
	NetNS uint64
	// PID keeps only dumps made by this process (0: any). Writers are
	// never filtered by process: the culprit is usually another one.
	PID uint32
	// Stacks records a kernel stack with every writer event.
	Stacks bool
}

// Probe is a loaded and attached set of programs and its event stream.
type Probe struct {
	Backend Backend
	// Skipped lists the hooks this kernel could not take, with what is
	// therefore not observable.
	Skipped []Skipped
	// Limits lists what the backend cannot observe by design, where the
	// fentry backend can (the tracepoint backend's blind spots).
	Limits []string
	// Hooks says which design the tracepoint backend uses (ReadyHooks or
	// SyscallHooks; empty for the others). On SyscallHooks the probe does
	// not see the changes the kernel makes by itself (IPv6 DAD, devices
	// going with their namespace): the caller should add them from
	// rtnetlink notifications (internal/monitor).
	Hooks string
	// Fallback says why the preferred backend failed when Auto fell back
	// to another one (nil otherwise): worth a warning, since it can be a
	// bug rather than a kernel limit.
	Fallback error
	colls    [sides]*ebpf.Collection
	// The ring buffer and drop counter every object shares, and the writer
	// side's stacks: the writer object's maps, or the syscall object's.
	maps   writerMaps
	links  []link.Link
	rd     *ringbuf.Reader
	rec    ringbuf.Record
	syms   *Kallsyms
	stacks bool // Config.Stacks

	// The tracepoint backend on syscalls: its object, and the bumps
	// handed out to its requests.
	sys    syscallObjects
	claims *claims
	// The tracepoint backend on sk_data_ready: its object, its
	// notification listener, and the bumps handed out to notices.
	ready    readyObjects
	listen   []*listener
	listenMu sync.Mutex // Close may run while Run pokes the listeners
	notices  *notices
	settler  settler
	// With no namespace given, the listeners follow the namespaces as
	// they come and go (follow): when they were last looked for, and the
	// namespaces they could not open in since TakeFollowErrors.
	followAll  bool
	followed   time.Time
	followErrs []error
	unheard    map[uint64]bool
	// closedOverruns are the overruns of listeners closed since (Drops).
	closedOverruns uint64
	// Writers decoded and not yet read.
	pending []*Writer
}

// Open loads and attaches the probe. With Auto it tries fentry, then
// kprobe, then tracepoint. The error wraps ErrUnavailable when the kernel or the process
// lacks what tracing needs, and says what to do; any other error is a bug.
func Open(cfg Config) (*Probe, error) {
	kernel, err := btf.LoadKernelSpec()
	if err != nil {
		return nil, fmt.Errorf("%w: load kernel BTF: %w (nltrace needs a kernel built with CONFIG_DEBUG_INFO_BTF=y, exposing /sys/kernel/btf/vmlinux)", ErrUnavailable, err)
	}
	syms, err := LoadKallsyms()
	if err != nil {
		syms = nil // only kprobe needs it; handlers then show as addresses
	}
	backends := []Backend{cfg.Backend}
	if cfg.Backend == Auto {
		backends = []Backend{Fentry, Kprobe, Tracepoint}
	}
	var errs []error
	for _, b := range backends {
		o, err := loadObjects()
		if err != nil {
			return nil, err
		}
		p, err := open(b, cfg, kernel, syms, o)
		if err == nil {
			if len(errs) > 0 {
				p.Fallback = backendErrors(backends[:len(errs)], errs)
			}
			return p, nil
		}
		errs = append(errs, err)
	}
	return nil, backendErrors(backends, errs)
}

// open loads the objects o with backend b and attaches them.
func open(b Backend, cfg Config, kernel *btf.Spec, syms *Kallsyms, o *objects) (_ *Probe, err error) {
	if b == Tracepoint {
		return openTracepoint(cfg, kernel, syms, o)
	}
	if b == Kprobe {
		if syms == nil {
			return nil, unavailable(errors.New("cannot read /proc/kallsyms: run as root"))
		}
		if _, err := os.Stat("/sys/bus/event_source/devices/kprobe"); err != nil {
			hint := "use a kernel built with them"
			if cfg.Backend == Kprobe {
				// Only when fentry was not tried already (Auto tries it first).
				hint += ", or the fentry backend"
			}
			return nil, unavailable(errors.New("this kernel has no kprobe support (no kprobe PMU in /sys/bus/event_source/devices: CONFIG_KPROBES or CONFIG_KPROBE_EVENTS is off); " + hint))
		}
	}
	use, skipped := available(o.hooks(), b, kernel, syms)
	if len(use) == 0 {
		return nil, unavailable(fmt.Errorf("none of the kernel functions is available: %s", skippedList(skipped)))
	}
	progs := o.selectPrograms(b, use)
	if err := o.configure(cfg); err != nil {
		return nil, err
	}
	p := &Probe{Backend: b, Skipped: skipped, syms: syms, stacks: cfg.Stacks}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if err := p.load(o, kernel); err != nil {
		return nil, err
	}
	if err := p.attach(progs); err != nil {
		return nil, err
	}
	if p.rd, err = ringbuf.NewReader(p.maps.Events); err != nil {
		return nil, fmt.Errorf("open ring buffer: %w", err)
	}
	return p, nil
}

// load creates the writer object first and lends its ring buffer and drop
// counter to the dump object, which would otherwise create its own.
func (p *Probe) load(o *objects, kernel *btf.Spec) error {
	opts := ebpf.CollectionOptions{
		Programs: ebpf.ProgramOptions{KernelTypes: kernel},
		Cache:    btf.NewCache(),
	}
	coll, err := ebpf.NewCollectionWithOptions(o.specs[writerSide], opts)
	if err != nil {
		return loadError(writerSide, err)
	}
	p.colls[writerSide] = coll
	if err := coll.Assign(&p.maps); err != nil {
		return fmt.Errorf("writer object: %w (stale generated code: run make generate)", err)
	}
	opts.MapReplacements = map[string]*ebpf.Map{dumpMapEvents: p.maps.Events, dumpMapDrops: p.maps.Drops}
	if p.colls[dumpSide], err = ebpf.NewCollectionWithOptions(o.specs[dumpSide], opts); err != nil {
		return loadError(dumpSide, err)
	}
	return nil
}

func (p *Probe) attach(progs []attachment) error {
	failed := map[string]bool{}
	var errs []error
	for _, a := range progs {
		if failed[a.symbol] {
			continue
		}
		prog := p.colls[a.side].Programs[a.prog]
		var l link.Link
		var err error
		switch {
		case p.Backend == Fentry:
			l, err = link.AttachTracing(link.TracingOptions{Program: prog})
		case a.exit:
			l, err = link.Kretprobe(a.symbol, prog, nil)
		default:
			l, err = link.Kprobe(a.symbol, prog, nil)
		}
		if err != nil {
			failed[a.symbol] = true
			errs = append(errs, fmt.Errorf("attach %s to %s: %w", a.prog, a.symbol, err))
			if !a.h.optional {
				p.Skipped = append(p.Skipped, Skipped{a.symbol, "attach failed: " + err.Error(), a.h.lost})
			}
			continue
		}
		p.links = append(p.links, l)
	}
	if len(p.links) == 0 {
		more := ""
		if len(errs) > 1 {
			more = fmt.Sprintf(" (and %d more attach points failed alike)", len(errs)-1)
		}
		err := fmt.Errorf("no program attached: %w%s%s", errs[0], more, permissionHint(errs[0]))
		if missingCapability(err) {
			return unavailable(err)
		}
		return err
	}
	return nil
}

// Read blocks for the next event, a *Sample or a *Writer; after Close it
// returns os.ErrClosed. The programs rarely wake readers: use Run. The
// tracepoint backend decides which request made a bump once later
// requests are in; only Run passes on the writers it still holds when no
// more come.
func (p *Probe) Read() (any, error) {
	for len(p.pending) == 0 {
		// One record reused: decode copies what it keeps.
		err := p.rd.ReadInto(&p.rec)
		if err != nil {
			return nil, err
		}
		ev, stack, err := decode(p.rec.RawSample, p.syms)
		if err != nil {
			return nil, err
		}
		switch ev := ev.(type) {
		case *request:
			p.pending = p.claims.add(ev)
			continue
		case *readyNoticeEvent:
			p.pending = p.notices.add(ev)
			continue
		case *Sample:
			if p.notices != nil {
				p.pending = p.notices.observe(ev.NetNS, ev.Counters)
				p.settler.settle(ev)
			}
		case *Writer:
			if p.stacks {
				ev.Stack, ev.StackError = p.stack(stack)
			}
		}
		return ev, nil
	}
	w := p.pending[0]
	p.pending = p.pending[1:]
	return w, nil
}

// pollInterval is how often Run looks at the ring buffer: the programs
// wake the reader only when the buffer is a quarter full, so that a dump
// does not pay a context switch per chunk.
const pollInterval = 20 * time.Millisecond

// Run passes every event to fn until ctx ends, then drains the ring
// buffer: events recorded before ctx ended are never dropped on the way
// out. Events arrive in batches, up to pollInterval late.
func (p *Probe) Run(ctx context.Context, fn func(any)) error {
	for {
		// A read with a deadline returns every record available, then
		// os.ErrDeadlineExceeded.
		p.rd.SetDeadline(time.Now().Add(pollInterval))
		ev, err := p.Read()
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			if ctx.Err() != nil {
				p.flush(fn)
				return nil
			}
			p.resolve(fn)
			p.followNow()
			continue
		case errors.Is(err, os.ErrClosed):
			p.flush(fn)
			return nil
		case err != nil:
			return err
		}
		fn(ev)
		// Events may come without a pause for minutes.
		p.followNow()
	}
}

// resolve passes on the writers of the tracepoint backend's requests
// decided by now, when no later request comes to decide them.
func (p *Probe) resolve(fn func(any)) {
	if p.notices != nil {
		for _, w := range p.notices.flush() {
			fn(w)
		}
		p.poke()
	}
	if p.claims == nil {
		return
	}
	var now unix.Timespec
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &now) != nil {
		return
	}
	for _, w := range p.claims.resolve(uint64(now.Nano())) {
		fn(w)
	}
}

// flush passes on the writers the tracepoint backend still holds back:
// the ring buffer is drained, no request comes any more.
func (p *Probe) flush(fn func(any)) {
	if p.notices != nil {
		for _, w := range p.notices.flush() {
			fn(w)
		}
	}
	if p.claims == nil {
		return
	}
	for _, w := range p.claims.flush() {
		fn(w)
	}
}

// Drops returns how many times events were lost: each event the ring
// buffer had no room for, and each time the tracepoint backend's listener
// found notifications lost for want of room (ENOBUFS: one or more; their
// changes are then not seen).
func (p *Probe) Drops() (uint64, error) {
	var n uint64
	if err := p.maps.Drops.Lookup(uint32(0), &n); err != nil {
		return 0, fmt.Errorf("read drop counter: %w", err)
	}
	p.listenMu.Lock()
	n += p.closedOverruns
	for _, l := range p.listen {
		n += l.overruns.Load()
	}
	p.listenMu.Unlock()
	return n, nil
}

// stack returns the stack the program stored under id, or why there is
// none: a negative id is bpf_get_stackid's errno.
func (p *Probe) stack(id int32) ([]string, string) {
	if id < 0 {
		return nil, unix.Errno(-id).Error()
	}
	var pcs [127]uint64
	if err := p.maps.Stacks.Lookup(uint32(id), &pcs); err != nil {
		return nil, fmt.Sprintf("read stack %d: %v", id, err)
	}
	var out []string
	for _, pc := range pcs {
		if pc == 0 {
			break
		}
		out = append(out, p.syms.Frame(pc))
	}
	return out, ""
}

// Close detaches and unloads everything; closing twice is harmless.
func (p *Probe) Close() error {
	var errs []error
	p.listenMu.Lock()
	errs = append(errs, closeListeners(p.listen))
	p.listen = nil
	p.listenMu.Unlock()
	if p.rd != nil {
		errs = append(errs, p.rd.Close())
	}
	for _, l := range p.links {
		errs = append(errs, l.Close())
	}
	for i, coll := range p.colls {
		if coll != nil {
			coll.Close()
		}
		p.colls[i] = nil
	}
	if p.Backend == Tracepoint {
		errs = append(errs, p.sys.Close(), p.ready.Close())
	} else {
		errs = append(errs, p.maps.Close())
	}
	p.rd, p.links, p.maps, p.sys, p.ready = nil, nil, writerMaps{}, syscallObjects{}, readyObjects{}
	return errors.Join(errs...)
}

// RunTime is the time the kernel spent in the probe's programs, and how
// many times they ran, since the probe was loaded. The kernel only counts
// while statistics are enabled (ebpf.EnableStats, or the sysctl
// kernel.bpf_stats_enabled): otherwise both are zero.
func (p *Probe) RunTime() (time.Duration, uint64, error) {
	var total time.Duration
	var runs uint64
	for name, prog := range p.programs() {
		s, err := prog.Stats()
		if err != nil {
			return 0, 0, fmt.Errorf("statistics of %s: %w", name, err)
		}
		total += s.Runtime
		runs += s.RunCount
	}
	return total, runs, nil
}

// programs lists the loaded programs by name, whatever the backend.
func (p *Probe) programs() map[string]*ebpf.Program {
	if p.notices != nil {
		return map[string]*ebpf.Program{"ready": p.ready.Ready}
	}
	if p.Backend == Tracepoint {
		return p.sys.programs()
	}
	m := map[string]*ebpf.Program{}
	for _, coll := range p.colls {
		if coll != nil {
			maps.Copy(m, coll.Programs)
		}
	}
	return m
}
