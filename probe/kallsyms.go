package probe

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// Kallsyms is the kernel's text symbol table, sorted by address.
type Kallsyms struct {
	addrs  []uint64
	names  []string
	byName map[string]bool
}

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
	k := &Kallsyms{byName: map[string]bool{}}
	type sym struct {
		addr uint64
		name string
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
		if len(f) == 3 {
			k.byName[f[2]] = true // kprobes attach to vmlinux functions only
		}
		if addr != 0 {
			syms = append(syms, sym{addr, strings.Join(f[2:], " ")})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read kernel symbols: %w", err)
	}
	sort.Slice(syms, func(i, j int) bool { return syms[i].addr < syms[j].addr })
	for _, s := range syms {
		k.addrs = append(k.addrs, s.addr)
		k.names = append(k.names, s.name)
	}
	return k, nil
}

// Has reports whether a text symbol of that name exists (a kprobe can
// attach to it unless it is blacklisted).
func (k *Kallsyms) Has(name string) bool { return k != nil && k.byName[name] }

// Name returns the symbol at addr exactly, or "".
func (k *Kallsyms) Name(addr uint64) string {
	if k == nil {
		return ""
	}
	i := sort.Search(len(k.addrs), func(i int) bool { return k.addrs[i] >= addr })
	if i < len(k.addrs) && k.addrs[i] == addr {
		return k.names[i]
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
			return fmt.Sprintf("%s+%#x", k.names[i], addr-k.addrs[i])
		}
	}
	return fmt.Sprintf("%#x", addr)
}
