package probe

import (
	"fmt"

	"github.com/cilium/ebpf"
)

// side is one of the BPF objects: bpf/dump.c and bpf/writer.c for the
// fentry and kprobe backends, bpf/ready.c (built twice) or bpf/syscall.c
// for the tracepoint backend.
type side int

const (
	dumpSide side = iota
	writerSide
	syscallSide
	readySide
	readyBTFSide
	sides
)

// objects are both BPF objects before load, with bpf2go's typed view of
// each: programs, maps and variables are reached through generated fields,
// so that a misspelt name does not compile.
type objects struct {
	specs [sides]*ebpf.CollectionSpec
	dump  dumpSpecs
	write writerSpecs
	sys   syscallSpecs
	ready readySpecs
	// bpf/ready.c built as a BTF-typed raw tracepoint: the same names.
	readyBTF readySpecs
}

// loadObjects reads the embedded objects. Each call returns fresh specs:
// selecting programs and setting variables change them.
func loadObjects() (*objects, error) {
	o := &objects{}
	var err error
	if o.specs[dumpSide], err = loadDump(); err != nil {
		return nil, err
	}
	if o.specs[writerSide], err = loadWriter(); err != nil {
		return nil, err
	}
	if o.specs[syscallSide], err = loadSyscall(); err != nil {
		return nil, err
	}
	if o.specs[readySide], err = loadReady(); err != nil {
		return nil, err
	}
	if o.specs[readyBTFSide], err = loadReadybtf(); err != nil {
		return nil, err
	}
	for s, specs := range map[side]*readySpecs{readySide: &o.ready, readyBTFSide: &o.readyBTF} {
		if err := o.specs[s].Assign(specs); err != nil {
			return nil, fmt.Errorf("%v object: %w (stale generated code: run make generate)", s, err)
		}
	}
	if err := o.specs[syscallSide].Assign(&o.sys); err != nil {
		return nil, fmt.Errorf("syscall object: %w (stale generated code: run make generate)", err)
	}
	if err := o.specs[dumpSide].Assign(&o.dump); err != nil {
		return nil, fmt.Errorf("dump object: %w (stale generated code: run make generate)", err)
	}
	if err := o.specs[writerSide].Assign(&o.write); err != nil {
		return nil, fmt.Errorf("writer object: %w (stale generated code: run make generate)", err)
	}
	return o, nil
}

// configure sets the filters before load. The stack map is shrunk to one
// entry when nobody asked for stacks: 4096 stacks of 127 frames are 4 MiB
// of kernel memory.
func (o *objects) configure(cfg Config) error {
	for _, v := range []struct {
		spec  *ebpf.VariableSpec
		value any
	}{
		{o.dump.FilterNetns, cfg.NetNS},
		{o.dump.FilterPid, cfg.PID},
		{o.write.FilterNetns, cfg.NetNS},
		{o.write.WantStacks, cfg.Stacks},
		{o.sys.FilterNetns, cfg.NetNS},
		{o.sys.FilterPid, cfg.PID},
		{o.ready.FilterNetns, cfg.NetNS},
		{o.ready.FilterPid, cfg.PID},
		{o.readyBTF.FilterNetns, cfg.NetNS},
		{o.readyBTF.FilterPid, cfg.PID},
	} {
		if err := v.spec.Set(v.value); err != nil {
			return fmt.Errorf("set %s: %w", v.spec.Name, err)
		}
	}
	if !cfg.Stacks {
		o.write.Stacks.MaxEntries = 1
	}
	return nil
}

// attachment is one loaded program to attach to one kernel function.
type attachment struct {
	side   side
	prog   string // in its side's collection
	symbol string
	exit   bool
	h      hook
}

// selectPrograms keeps in each object only the backend's programs for the
// hooks in use, and deletes the others before load: the kernel then never
// sees, let alone rejects, a program that would not run. A tracing program
// is bound to its function at load time, so each fentry/fexit program gets
// a copy per function it attaches to.
func (o *objects) selectPrograms(b Backend, use []hook) []attachment {
	var keep [sides]map[string]*ebpf.ProgramSpec
	for s := range keep {
		keep[s] = map[string]*ebpf.ProgramSpec{}
	}
	var out []attachment
	add := func(h hook, t twin, exit bool) {
		ps := t.pick(b)
		key := ps.Name
		if b == Fentry {
			key += ":" + h.symbol
			ps = ps.Copy()
			ps.AttachTo = h.symbol
		}
		keep[h.side][key] = ps
		out = append(out, attachment{side: h.side, prog: key, symbol: h.symbol, exit: exit, h: h})
	}
	for _, h := range use {
		add(h, h.entry, false)
		if h.hasExit() {
			add(h, h.exit, true)
		}
	}
	for s := range keep {
		o.specs[s].Programs = keep[s]
	}
	return out
}

var sideNames = [sides]string{"dump", "writer", "syscall", "ready", "ready (tp_btf)"}

func (s side) String() string { return sideNames[s] }
