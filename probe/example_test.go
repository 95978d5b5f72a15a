//go:build linux

package probe_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/probe"
)

// Watch the dumps made in the network namespace "blue" for ten seconds:
// print every chunk the kernel flagged with NLM_F_DUMP_INTR and every
// change that moved a generation counter. It needs root and a kernel that
// allows fentry, kprobes or syscall tracepoints; elsewhere Open says why, wrapping
// ErrUnavailable, and the caller goes on without kernel attribution.
func Example() {
	var st unix.Stat_t
	if err := unix.Stat("/run/netns/blue", &st); err != nil {
		log.Fatalf("namespace blue: %v (create it with ip netns add blue)", err)
	}
	p, err := probe.Open(probe.Config{NetNS: st.Ino})
	if errors.Is(err, probe.ErrUnavailable) {
		fmt.Println("no kernel attribution here:", err)
		return
	}
	if err != nil {
		log.Fatal(err) // a bug, such as a program the verifier rejects
	}
	defer p.Close()
	for _, s := range p.Skipped {
		fmt.Println("not observable:", s)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = p.Run(ctx, func(ev any) {
		switch e := ev.(type) {
		case *probe.Sample:
			if e.Flagged {
				fmt.Printf("dump %d of port %d: chunk flagged by %s\n", e.Seq, e.PortID, e.Handler)
			}
		case *probe.Writer:
			fmt.Println(e)
		}
	})
	if err != nil {
		log.Fatal(err)
	}
	if n, err := p.Drops(); err == nil && n > 0 {
		fmt.Printf("%d events lost: the ring buffer was full\n", n)
	}
}

// A writer event reads as what changed, who changed it, and how the
// counter moved.
func ExampleWriter_String() {
	w := &probe.Writer{Op: probe.Register, Ifname: "veth0", Counter: probe.DevBaseSeq, Before: 41,
		PID: 1234, Comm: "ip", Context: probe.ContextTask}
	fmt.Println(w)
	// Output: register veth0 by ip[1234] (dev_base_seq 41->42)
}

func ExampleParseBackend() {
	b, err := probe.ParseBackend("kprobe")
	fmt.Println(b, err)
	_, err = probe.ParseBackend("uprobe")
	fmt.Println(err)
	// Output:
	// kprobe <nil>
	// unknown backend "uprobe" (want auto, fentry, kprobe, tracepoint)
}
