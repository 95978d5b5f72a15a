//go:build linux

package probe

import (
	"fmt"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
)

// tracepointLimits is what the tracepoint backend cannot see that the
// fentry and kprobe backends see: it watches syscalls on rtnetlink
// sockets, not the kernel functions that build chunks and bump counters.
var tracepointLimits = []string{
	"changes the kernel makes by itself (IPv6 DAD and router advertisements, devices going with their namespace): nltrace's runs match their rtnetlink notifications to bumps by time, not by counter value, so among several close together one may be misnamed",
	"changes made with neither an rtnetlink request nor a device ioctl, with no notification either (a tun device closed): their bumps go unexplained",
	"which of several concurrent requests made a bump, when their syscalls overlap without one waiting for a mutex (RTNL) behind the other: it goes to the one that entered last before it",
	"the second device a request makes or removes (a veth pair's peer): its bump is named after the device the request names",
	"bumps in a namespace other than the requesting socket's (a device moved in from elsewhere)",
	"flags the kernel lost (a counter move with no message to carry it), and chunks read with read() or recvmmsg (read is the busiest syscall of a host: watching it made 64-byte reads 2.5 times slower)",
	"the dump handler's name, and kernel stacks",
}

// The tracepoint backend's two designs (Probe.Hooks).
const (
	// ReadyHooks is one raw tracepoint, sock:sk_data_ready (6.6+).
	ReadyHooks = "sock:sk_data_ready"
	// SyscallHooks is the syscall tracepoints of sendmsg, recvmsg and
	// their kin, for older kernels: every task then takes the slow path
	// in and out of the kernel.
	SyscallHooks = "syscall tracepoints"
)

// tracepointProg is a program and the tracepoint, or syscall, it is for.
type tracepointProg struct {
	name string
	prog *ebpf.Program
}

// syscallHooks pairs each traced syscall with its entry program; one exit
// program serves them all.
func syscallHooks(o *syscallObjects) []tracepointProg {
	return []tracepointProg{
		{"sendmsg", o.TpEnterSendmsg}, {"sendto", o.TpEnterSendto}, {"write", o.TpEnterWrite},
		{"recvmsg", o.TpEnterRecvmsg}, {"recvfrom", o.TpEnterRecvfrom},
		{"ioctl", o.TpEnterIoctl},
	}
}

// openTracepoint loads bpf/ready.c where the kernel has the
// sock:sk_data_ready tracepoint (6.6+), else bpf/syscall.c on the syscall
// tracepoints, which slow down every task of the machine.
func openTracepoint(cfg Config, kernel *btf.Spec, syms *Kallsyms, o *objects) (_ *Probe, err error) {
	if err := o.configure(cfg); err != nil {
		return nil, err
	}
	var t *btf.Typedef
	if kernel.TypeByName("btf_trace_sk_data_ready", &t) == nil {
		return openReady(cfg, kernel, syms, o)
	}
	p := &Probe{Backend: Tracepoint, Limits: slices.Clone(tracepointLimits), claims: newClaims(), Hooks: SyscallHooks}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	opts := &ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{KernelTypes: kernel}}
	if err := o.specs[syscallSide].LoadAndAssign(&p.sys, opts); err != nil {
		return nil, loadError(syscallSide, err)
	}
	p.maps = writerMaps{Events: p.sys.Events, Drops: p.sys.Drops}
	if err := withTracefs(p.attachTracepoints); err != nil {
		return nil, err
	}
	if p.rd, err = ringbuf.NewReader(p.maps.Events); err != nil {
		return nil, fmt.Errorf("open ring buffer: %w", err)
	}
	return p, nil
}

// attachTracepoints attaches every program; the lock ones only where the
// kernel has them.
func (p *Probe) attachTracepoints() error {
	for _, h := range syscallHooks(&p.sys) {
		for _, a := range []struct {
			event string
			prog  *ebpf.Program
		}{{"sys_enter_" + h.name, h.prog}, {"sys_exit_" + h.name, p.sys.TpExit}} {
			l, err := link.Tracepoint("syscalls", a.event, a.prog, nil)
			if err != nil {
				err = fmt.Errorf("attach to tracepoint syscalls:%s: %w%s", a.event, err, permissionHint(err))
				if missingCapability(err) {
					err = unavailable(fmt.Errorf("%w (syscall tracepoints need CONFIG_FTRACE_SYSCALLS)", err))
				}
				return err
			}
			p.links = append(p.links, l)
		}
	}
	// Kernels before 5.19 have no contention tracepoints: overlapping
	// requests are then told apart less well.
	for _, a := range lockHooks(&p.sys) {
		l, err := link.Tracepoint("lock", a.name, a.prog, nil)
		if err != nil {
			p.Limits = append(p.Limits, fmt.Sprintf("which request waited for RTNL behind which (tracepoint lock:%s: %v)", a.name, err))
			continue
		}
		p.links = append(p.links, l)
	}
	return nil
}

// lockHooks are the programs that tell overlapping requests apart by the
// mutex one waits for behind the other.
func lockHooks(o *syscallObjects) []tracepointProg {
	return []tracepointProg{{"contention_begin", o.TpLockWait}, {"contention_end", o.TpLockGot}}
}

// programs lists the loaded programs by name, for RunTime.
func (o *syscallObjects) programs() map[string]*ebpf.Program {
	m := map[string]*ebpf.Program{"exit": o.TpExit}
	for _, h := range syscallHooks(o) {
		m["enter_"+h.name] = h.prog
	}
	for _, h := range lockHooks(o) {
		m[h.name] = h.prog
	}
	return m
}
