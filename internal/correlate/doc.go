// Package correlate joins what userspace saw of its netlink dumps
// (nlclient results) to what the kernel probe recorded (chunk samples and
// counter writers), and explains each interrupted dump: which counter
// moved, by how much, between which chunks, and which events moved it.
//
// Chunks join to dumps by (netns inode, port id, sequence number), the
// key every reply header carries. Writers join to a chunk pair by counter
// value, not by time: each writer records the counter before its bump,
// and each chunk sample the counters after its handler ran, so events
// from other CPUs or delivered out of order land in the right window.
package correlate
