package nlclient_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/nlclient"
)

// Dump the links of the caller's own namespace, which needs no privilege,
// and say whether the kernel flagged the dump. Its output depends on the
// machine, so the example is compiled but not run.
func Example() {
	c, err := nlclient.Dial(nlclient.Target{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := c.Dump(ctx, nlclient.Link, nlclient.Options{Policy: nlclient.Strict})
	var intr *nlclient.InterruptedError
	switch {
	case errors.As(err, &intr):
		fmt.Printf("interrupted from chunk %d of %d: %d links, maybe not all\n", intr.Chunk, len(r.Chunks), len(r.Objects))
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Printf("%d links in %d chunks\n", len(r.Objects), len(r.Chunks))
	}
}

// Change the table at a known point of a dump: a link added after chunk 1
// is flagged on chunk 3, since chunk 2 was built inside the read that
// returned chunk 1. It needs root and a namespace with enough links for
// several chunks, so it is compiled but not run.
func ExampleOptions_onChunk() {
	c, err := nlclient.Dial(nlclient.Target{Path: "/run/netns/lab"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	r, err := c.Dump(context.Background(), nlclient.Link, nlclient.Options{
		OnChunk: func(ch nlclient.Chunk) error {
			if ch.Index == 1 {
				return c.AddLink("late", "dummy", "")
			}
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("first flagged chunk:", r.FirstInterrupted)
}

func ExampleParseKinds() {
	kinds, err := nlclient.ParseKinds([]string{"link,addr6", "link"})
	fmt.Println(kinds, err)
	_, err = nlclient.ParseKinds([]string{"links"})
	fmt.Println(err)
	// Output:
	// [link addr6] <nil>
	// unknown dump kind "links" (want one of link, addr4, addr6, route4, route6, neigh, nexthop, stats, or all)
}

func ExampleParseTarget() {
	for _, s := range []string{"", "blue", "pid:42", "/proc/1/ns/net"} {
		t, err := nlclient.ParseTarget(s)
		fmt.Println(t, err)
	}
	// Output:
	// current <nil>
	// /run/netns/blue <nil>
	// pid:42 <nil>
	// /proc/1/ns/net <nil>
}

// Check a dump against the objects that existed throughout it: here a dump
// that returned one address twice and missed another.
func ExampleCheck() {
	addr := func(s string) nlclient.Object {
		return nlclient.Object{Kind: nlclient.Addr6, Index: 2, Prefix: netip.MustParsePrefix(s)}
	}
	r := &nlclient.Result{Kind: nlclient.Addr6, Objects: []nlclient.Object{
		addr("fd00::1/64"), addr("fd00::2/64"), addr("fd00::1/64"),
	}}
	stable := []nlclient.Key{addr("fd00::1/64").Key(), addr("fd00::2/64").Key(), addr("fd00::3/64").Key()}
	c := nlclient.Check(r, stable)
	fmt.Println("missing:", c.Missing)
	fmt.Println("repeated:", c.Repeated)
	// Output:
	// missing: [addr6 fd00::3/64 on ifindex 2]
	// repeated: [addr6 fd00::1/64 on ifindex 2]
}

// An interrupted dump under the Strict policy is an error that code written
// for other netlink libraries already handles as EINTR.
func ExampleInterruptedError() {
	var err error = &nlclient.InterruptedError{Kind: nlclient.Link, Chunk: 7}
	fmt.Println(errors.Is(err, nlclient.ErrDumpInterrupted), errors.Is(err, unix.EINTR))
	fmt.Println(err)
	// Output:
	// true true
	// link dump: interrupted system call: results may be incomplete or inconsistent (NLM_F_DUMP_INTR on chunk 7)
}
