/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the dump side (dump.c) and the writer side (writer.c) share: the
 * namespace filter, the ring buffer and its drop counter, the counter
 * reads, and the macros that give every hook its twin entry points.
 */
#ifndef NLTRACE_COMMON_H
#define NLTRACE_COMMON_H

#include "kernel.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "events.h"

#define RINGBUF_SIZE (1 << 22)

/* Set by userspace before load; zero means any namespace. */
volatile const __u64 filter_netns = 0;

/*
 * dump.c and writer.c compile to two objects, so that each side builds,
 * verifies and reads on its own, and both declare these two maps from this
 * one definition: userspace creates them with the writer object and hands
 * them to the dump object (cilium/ebpf CollectionOptions.MapReplacements),
 * so that one reader and one drop count cover both sides.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RINGBUF_SIZE);
} events SEC(".maps");

/* Index 0: events the ring buffer had no room for. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/*
 * TWIN(name, sym, body, args...) gives one hook its two backends: a fentry
 * program fentry_<name> and a kprobe program kprobe_<name>, both on the
 * kernel function sym, both returning body, an expression that calls the
 * hook's shared __always_inline function with ctx and the declared
 * arguments. Userspace deletes the unused backend's programs before
 * loading, and finds the rest through bpf2go's generated types: a name is
 * spelled here only. TWIN_EXIT does the same for fexit_<name> and
 * kretprobe_<name>, with the function's return value as ret.
 */
#define TWIN(name, sym, body, args...)                                  \
	SEC("fentry/" #sym)                                             \
	int BPF_PROG(fentry_##name, ##args) { return body; }           \
	SEC("kprobe/" #sym)                                             \
	int BPF_KPROBE(kprobe_##name, ##args) { return body; }

#define TWIN_EXIT(name, sym, body, args...)                             \
	SEC("fexit/" #sym)                                              \
	int BPF_PROG(fexit_##name, ##args, int ret) { return body; }   \
	SEC("kretprobe/" #sym)                                          \
	int BPF_KRETPROBE(kretprobe_##name, int ret) { return body; }

static __always_inline void count_drop(void)
{
	__u32 key = 0;
	__u64 *n = bpf_map_lookup_elem(&drops, &key);
	if (n)
		__sync_fetch_and_add(n, 1);
}

/* Waking the reader for every event would cost a context switch per
 * chunk; it polls instead, and is woken only when the buffer fills up. */
static __always_inline void submit(void *e)
{
	__u64 flags = BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > RINGBUF_SIZE / 4)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(e, flags);
}

static __always_inline __u64 net_inode(struct net *net)
{
	return BPF_CORE_READ(net, ns.inum);
}

static __always_inline __u32 read_counter(struct net *net, __u8 id)
{
	switch (id) {
	case COUNTER_DEV_BASE_SEQ:
		return BPF_CORE_READ(net, dev_base_seq);
	case COUNTER_ADDR_GENID4:
		return BPF_CORE_READ(net, ipv4.dev_addr_genid.counter);
	case COUNTER_ADDR_GENID6:
		if (bpf_core_field_exists(net->ipv6))
			return BPF_CORE_READ(net, ipv6.dev_addr_genid.counter);
		return 0;
	case COUNTER_NEXTHOP_SEQ:
		if (bpf_core_field_exists(net->nexthop))
			return BPF_CORE_READ(net, nexthop.seq);
		return 0;
	}
	return 0;
}

/* All four, by enum counter_id - 1. */
static __always_inline void read_counters(struct net *net, __u32 *out)
{
	out[0] = read_counter(net, COUNTER_DEV_BASE_SEQ);
	out[1] = read_counter(net, COUNTER_ADDR_GENID4);
	out[2] = read_counter(net, COUNTER_ADDR_GENID6);
	out[3] = read_counter(net, COUNTER_NEXTHOP_SEQ);
}

#endif
