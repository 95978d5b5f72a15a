//go:build linux

package probe

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
)

// readyLimits is what the tracepoint backend on sk_data_ready cannot see
// that the fentry and kprobe backends see.
var readyLimits = []string{
	"which of two changes made a bump when no notification came between them: a device's bump goes to the change announced after it, an address's to the one announced before it (the kernel's order); a notification the listener missed (counted with drops) lets the next one take its bumps",
	"flags the kernel lost (a counter move with no message to carry it)",
	"kernel stacks",
}

// openReady loads bpf/ready.c, attaches it to the sock:sk_data_ready raw
// tracepoint (no tracefs needed), and opens the notification listener.
func openReady(cfg Config, kernel *btf.Spec, syms *Kallsyms, o *objects) (_ *Probe, err error) {
	p := &Probe{Backend: Tracepoint, Hooks: ReadyHooks, Limits: slices.Clone(readyLimits), syms: syms,
		notices: newNotices(), settler: settler{}}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if err := p.attachReady(o, kernel); err != nil {
		return nil, err
	}
	p.maps = writerMaps{Events: p.ready.Events, Drops: p.ready.Drops}
	if p.rd, err = ringbuf.NewReader(p.maps.Events); err != nil {
		return nil, fmt.Errorf("open ring buffer: %w", err)
	}
	if cfg.NetNS != 0 {
		f, err := findNetNS(cfg.NetNS)
		if err == nil {
			err = p.listenIn(f, cfg.NetNS)
		}
		if err != nil && !errors.Is(err, errNoNetNS) {
			return nil, err
		}
		if err != nil {
			// Its dumps are still seen; its writers are not.
			p.Limits = append(p.Limits, fmt.Sprintf("changes in network namespace %d: %v", cfg.NetNS, err))
		}
		return p, nil
	}
	if len(netNamespaces()) == 0 {
		return nil, errors.New("list network namespaces: no /proc/*/ns/net")
	}
	p.followAll, p.unheard = true, map[uint64]bool{}
	p.Limits = append(p.Limits, fmt.Sprintf("changes in a namespace made while the probe runs, until its listener opens (it looks for new namespaces every %v)", followEvery))
	for _, err := range p.follow() {
		p.Limits = append(p.Limits, "changes in "+err.Error())
	}
	p.followed = time.Now()
	return p, nil
}

// listenIn opens a listener in the namespace f (inode ino), and closes f.
func (p *Probe) listenIn(f *os.File, ino uint64) error {
	defer f.Close()
	l, err := listen(f, ino, p.ready.Listeners)
	if err == nil {
		p.listen = append(p.listen, l)
	}
	return err
}

// readySides are the builds of bpf/ready.c to try, fastest first.
var readySides = []side{readyBTFSide, readySide}

// attachReady loads bpf/ready.c as a BTF-typed raw tracepoint, whose
// reads are plain loads, or else, where tracing programs are refused, as
// a raw tracepoint, whose reads are probe reads, and attaches it.
func (p *Probe) attachReady(o *objects, kernel *btf.Spec) error {
	opts := &ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{KernelTypes: kernel}}
	var errs []error
	for _, s := range readySides {
		if err := o.specs[s].LoadAndAssign(&p.ready, opts); err != nil {
			errs = append(errs, loadError(s, err))
			continue
		}
		var l link.Link
		var err error
		if s == readyBTFSide {
			l, err = link.AttachTracing(link.TracingOptions{Program: p.ready.Ready})
		} else {
			l, err = link.AttachRawTracepoint(link.RawTracepointOptions{Name: "sk_data_ready", Program: p.ready.Ready})
		}
		if err == nil {
			p.links = append(p.links, l)
			return nil
		}
		errs = append(errs, fmt.Errorf("attach %v program to sk_data_ready: %w%s", s, err, permissionHint(err)))
		p.ready.Close()
		p.ready = readyObjects{}
	}
	err := errors.Join(errs...)
	if missingCapability(err) {
		return unavailable(err)
	}
	return err
}

// poke has each listener whose namespace saw a notice since its counters
// were last read ask for them (listener.readCounters): the address bumps
// that followed the last notice are then known to be its
// (notices.observe).
func (p *Probe) poke() {
	p.listenMu.Lock()
	defer p.listenMu.Unlock()
	for _, l := range p.listen {
		if p.notices.unobserved(l.netns) {
			l.readCounters()
		}
	}
}

// Dump request types (include/uapi/linux/rtnetlink.h).
const (
	rtmGetLink    = 18
	rtmGetAddr    = 22
	rtmGetStats   = 94
	rtmGetNexthop = 106
)

// settle sets a chunk's counters to those its handler read, where cb->seq
// tells them: bpf/ready.c reads them when the chunk is queued, after the
// handler let go of RTNL, and a change may have come in between. An
// address dump's seq is dev_base_seq combined with its family's counter
// (a sum since a 2024 fix, XOR before): when it no longer matches, one
// counter moved since, and is set back. Which one, seq alone cannot say:
// prev, the counters of the dump's previous chunk (nil for its first),
// rules out setting a counter back behind where it already was.
func settle(s *Sample, prev *Counters) {
	k := &s.Counters
	seq := s.SeqAfter
	switch s.MsgType {
	case rtmGetLink, rtmGetStats:
		k.DevBaseSeq = seq
	case rtmGetNexthop:
		k.NexthopSeq = seq
	case rtmGetAddr:
		genids := []*uint32{&k.AddrGenID4, &k.AddrGenID6}
		for _, g := range genids {
			if seq == k.DevBaseSeq+*g || seq == k.DevBaseSeq^*g {
				return
			}
		}
		// then is a value the counter may have had when the handler ran,
		// now its value now, was its value at the previous chunk.
		possible := func(then, now, was uint32, known bool) bool {
			return now-then <= maxBumps && (!known || int32(then-was) >= 0)
		}
		var was Counters
		if prev != nil {
			was = *prev
		}
		for i, g := range genids {
			wasG := []uint32{was.AddrGenID4, was.AddrGenID6}[i]
			for _, v := range []uint32{seq - k.DevBaseSeq, seq ^ k.DevBaseSeq} {
				if possible(v, *g, wasG, prev != nil) {
					*g = v
					return
				}
			}
			for _, dev := range []uint32{seq - *g, seq ^ *g} {
				if possible(dev, k.DevBaseSeq, was.DevBaseSeq, prev != nil) {
					k.DevBaseSeq = dev
					return
				}
			}
		}
	}
}

// settler keeps each running dump's last chunk counters for settle.
type settler map[DumpKey]Counters

// maxSettling bounds the dumps a settler remembers: a dump whose socket
// closed before its last chunk is never forgotten otherwise.
const maxSettling = 4096

func (st settler) settle(s *Sample) {
	key := s.DumpKey()
	prev, ok := st[key]
	if ok {
		settle(s, &prev)
	} else {
		settle(s, nil)
	}
	if s.Done {
		delete(st, key)
		return
	}
	if len(st) >= maxSettling {
		clear(st)
	}
	st[key] = s.Counters
}
