package main

// requirements lists what testenv must treat as mandatory on this kernel:
// a capability the kernel was built with and a test could not use is a bug
// in the test or the tool, not a reason to skip. A kernel without a config
// (an image given as a file) only requires root.
func requirements(cfg map[string]string) []string {
	on := func(names ...string) bool {
		for _, n := range names {
			if cfg[n] != "y" {
				return false
			}
		}
		return true
	}
	mod := func(n string) bool { return cfg[n] == "y" || cfg[n] == "m" }
	req := []string{"root"}
	if mod("VETH") {
		req = append(req, "veth")
	}
	if mod("DUMMY") {
		req = append(req, "dummy")
	}
	if on("BPF_SYSCALL", "KPROBES", "KPROBE_EVENTS", "BPF_EVENTS", "DEBUG_INFO_BTF") {
		req = append(req, "kprobe")
	}
	if on("BPF_SYSCALL", "BPF_JIT", "DEBUG_INFO_BTF", "FUNCTION_TRACER", "DYNAMIC_FTRACE_WITH_DIRECT_CALLS") {
		req = append(req, "fentry")
	}
	if on("BPF_SYSCALL", "KPROBES", "FPROBE", "DEBUG_INFO_BTF") {
		req = append(req, "kprobe_multi")
	}
	if on("BPF_SYSCALL", "BPF_EVENTS", "FTRACE_SYSCALLS", "DEBUG_INFO_BTF") {
		req = append(req, "tracepoint")
	}
	return req
}
