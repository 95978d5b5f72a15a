// Package nlclient dumps rtnetlink tables and tells the exact truth about
// each dump: every datagram (chunk) it received, which one first carried
// NLM_F_DUMP_INTR, whether NLMSG_DONE carried it, and the objects decoded.
//
// It stands on mdlayher/netlink for socket set-up, namespaces and message
// encoding, but reads datagrams itself: netlink.Conn.Receive merges them and
// drops NLMSG_DONE, which hides where a dump was interrupted.
//
// Policies name what users of other libraries live with: Lenient returns data
// and no error (vishvananda/netlink <= v1.2.0), Strict returns an error that
// matches unix.EINTR (but always drains the dump, so the socket stays usable),
// Retry tries again a bounded number of times.
package nlclient
