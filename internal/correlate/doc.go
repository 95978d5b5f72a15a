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
//
// Join and Collector join a run's events all at once. A Joiner joins
// them as they come, each dump once its result is in and its late
// samples had time to arrive, and keeps only what dumps still waiting
// can need: a run of hours holds seconds of events.
package correlate
