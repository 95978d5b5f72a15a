// Package monitor subscribes to rtnetlink notifications (links, IPv4 and
// IPv6 addresses and routes, neighbours, nexthops) in one network namespace,
// or in every namespace that has an id there, and turns each into an Event:
// what changed, where, and which process asked for it.
//
// A notification caused by a request carries the requester's netlink port
// id (addresses always, links from kernel 6.3 on); the monitor resolves the
// port id to the socket's inode with sock_diag, in the namespace of the
// event, and the inode to a process by scanning /proc/*/fd. Notifications
// the kernel makes on its own (IPv6 DAD, carrier, a namespace's teardown)
// carry port id 0.
//
// A reader that falls behind loses notifications: the kernel drops what
// does not fit in the socket's receive buffer and the next read fails with
// ENOBUFS. The monitor never hides that: it reports an Overrun event with
// the number of notifications lost (the socket's drop counter, read with
// sock_diag), then dumps the subscribed tables again and reports a Resync
// event per table, so that a reader knows the state it missed changes of.
//
// The command `nltrace monitor` prints the events; the tracepoint backend
// takes kernel-made changes from here. docs/monitor.md describes the
// events' fields as JSON.
package monitor
