// Package nlclient dumps rtnetlink tables (links, addresses, routes,
// neighbours, nexthops, link statistics) and tells the exact truth about
// each dump: every datagram (chunk) it received, which one first carried
// NLM_F_DUMP_INTR, whether NLMSG_DONE carried it, and the objects decoded.
//
// A dump arrives in chunks, and the kernel sets NLM_F_DUMP_INTR on a chunk
// when the table changed since the previous one: the dump may have missed
// or repeated objects. Other libraries turn the flag into EINTR or drop it;
// nlclient keeps where it was, so that a program can decide what to do and a
// test can check what the kernel did.
//
// # Dumping
//
// Dial opens a socket in a network namespace, Client.Dump runs one dump:
//
//	c, err := nlclient.Dial(nlclient.Target{}) // the caller's namespace
//	...
//	r, err := c.Dump(ctx, nlclient.Link, nlclient.Options{Policy: nlclient.Strict})
//	if errors.Is(err, nlclient.ErrDumpInterrupted) {
//		// r holds every object and chunk all the same
//	}
//
// The Result lists the Chunks with their flags, FirstInterrupted and
// DoneInterrupted, and the decoded Objects: a minimal form of each message,
// enough to name it and, through Object.Key and Check, to tell whether a
// dump missed or repeated objects that existed throughout.
//
// Dumping one's own namespace needs no privilege. A Target naming another
// namespace (ParseTarget: a name under /run/netns, a path, pid:N, fd:N)
// needs CAP_SYS_ADMIN to enter it; the change requests (Client.AddLink,
// Client.AddAddr, ...), which exist to build and disturb test namespaces,
// need CAP_NET_ADMIN there.
//
// # Policies
//
// Policies name what users of other libraries live with: Lenient returns
// data and no error (vishvananda/netlink <= v1.2.0); Strict returns the data
// with an *InterruptedError, which matches ErrDumpInterrupted and unix.EINTR
// as the errors of libmnl and vishvananda/netlink do; Retry dumps again, a
// bounded number of times with backoff, until a dump is not interrupted.
// Every policy reads a dump to its end, even when a message fails to decode
// or the OnChunk callback fails: a socket left in the middle of a dump
// refuses the next one with EBUSY. When a dump cannot be finished (a
// receive error, a cancelled context) the Client opens a new socket for
// the next request, and its PortID changes.
//
// Options.OnChunk runs between chunks, before the next is requested, so a
// change made there lands at a known point of the dump: that is how the
// tests pin down where the kernel puts the flag (two chunks after the
// change) and which changes it never flags at all (after the last two data
// chunks). docs/kernel.md in the repository gathers those kernel facts.
//
// # Concurrency
//
// A Client runs one request at a time, and its methods serialise. Use one
// Client per concurrent dumper: a socket has one dump in flight.
//
// # Implementation
//
// nlclient stands on mdlayher/netlink for socket set-up, namespaces and
// message encoding, but reads datagrams itself: netlink.Conn.Receive merges
// them and drops NLMSG_DONE, which hides where a dump was interrupted. It
// reads each datagram whole (a larger one is reported, never cut) and walks
// attributes in place, so that a dump of a thousand links costs about one
// allocation per link.
package nlclient
