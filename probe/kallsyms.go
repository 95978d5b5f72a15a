package probe

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Kallsyms is the kernel's text symbol table, sorted by address. It holds
// no pointers but its three slices: a probe keeps it for its lifetime, in
// the process that makes the dumps it measures, and the garbage collector
// would otherwise walk a few hundred thousand strings at every cycle.
type Kallsyms struct {
	text   []byte   // every name, back to back
	addrs  []uint64 // sorted
	names  []span   // names[i] is the symbol at addrs[i]
	byName []span   // vmlinux functions, sorted by name
}

// span is a name in Kallsyms.text.
type span struct{ start, end uint32 }

func (k *Kallsyms) str(s span) string { return string(k.text[s.start:s.end]) }

// LoadKallsyms reads /proc/kallsyms. Addresses read as zero without
// root (kptr_restrict): symbols are then known by name only.
func LoadKallsyms() (*Kallsyms, error) {
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return nil, fmt.Errorf("read kernel symbols: %w", err)
	}
	defer f.Close()
	return parseKallsyms(f)
}

func parseKallsyms(r io.Reader) (*Kallsyms, error) {
	k := &Kallsyms{}
	type sym struct {
		addr uint64
		name span
	}
	var syms []sym
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 || (f[1] != "t" && f[1] != "T") {
			continue
		}
		addr, err := strconv.ParseUint(f[0], 16, 64)
		if err != nil {
			continue
		}
		name := span{start: uint32(len(k.text))}
		k.text = append(k.text, strings.Join(f[2:], " ")...)
		name.end = uint32(len(k.text))
		if len(f) == 3 {
			k.byName = append(k.byName, name) // kprobes attach to vmlinux functions only
		}
		if addr != 0 {
			syms = append(syms, sym{addr, name})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read kernel symbols: %w", err)
	}
	slices.SortFunc(syms, func(a, b sym) int { return cmp.Compare(a.addr, b.addr) })
	for _, s := range syms {
		k.addrs = append(k.addrs, s.addr)
		k.names = append(k.names, s.name)
	}
	slices.SortFunc(k.byName, func(a, b span) int { return bytes.Compare(k.text[a.start:a.end], k.text[b.start:b.end]) })
	return k, nil
}

// Has reports whether a text symbol of that name exists (a kprobe can
// attach to it unless it is blacklisted).
func (k *Kallsyms) Has(name string) bool {
	if k == nil {
		return false
	}
	_, found := slices.BinarySearchFunc(k.byName, name, func(s span, name string) int {
		return strings.Compare(string(k.text[s.start:s.end]), name)
	})
	return found
}

// Name returns the symbol at addr exactly, or "".
func (k *Kallsyms) Name(addr uint64) string {
	if k == nil {
		return ""
	}
	i := sort.Search(len(k.addrs), func(i int) bool { return k.addrs[i] >= addr })
	if i < len(k.addrs) && k.addrs[i] == addr {
		return k.str(k.names[i])
	}
	return ""
}

// Frame names a stack address as symbol+offset.
func (k *Kallsyms) Frame(addr uint64) string {
	if k != nil {
		i := sort.Search(len(k.addrs), func(i int) bool { return k.addrs[i] > addr }) - 1
		// Far from any symbol: BPF trampolines and programs, which
		// kallsyms lists only with net.core.bpf_jit_kallsyms.
		if i >= 0 && addr-k.addrs[i] < 1<<20 {
			return fmt.Sprintf("%s+%#x", k.str(k.names[i]), addr-k.addrs[i])
		}
	}
	return fmt.Sprintf("%#x", addr)
}
