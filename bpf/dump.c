//go:build ignore

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The dump side: one sample per chunk of a netlink dump, taken around the
 * dump handler that builds the chunk. The programs name no function:
 * userspace attaches them to every dump handler it finds (all share the
 * signature int (*)(struct sk_buff *, struct netlink_callback *)), so a
 * program it forgot to aim fails to load instead of watching the wrong one.
 */
#include "common.h"

char __license[] SEC("license") = "Dual BSD/GPL";

#define NLM_F_DUMP_INTR 0x10
#define NLMSG_HDRLEN 16

/* Set by userspace before load; zero means any process. Writers are never
 * filtered by process: the culprit is usually another one. */
volatile const __u32 filter_pid = 0;

/* A dump handler's state between its entry and its exit, per thread. */
struct chunk_start {
	__u64 ts;
	__u64 skb; /* struct sk_buff * */
	__u64 cb;  /* struct netlink_callback * */
	/* cb->dump and cb->data, read at entry: rtnl_dumpit clears cb->data
	 * in the call that ends the walk. */
	__u64 handler;
	__u64 handler_data;
	__u32 prev_seq;
	__u32 seq;
	__u32 depth; /* rtnl_dumpit and rtnl_dump_all wrap other handlers */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct chunk_start);
} chunk_starts SEC(".maps");

/* Keep the event types in the object's BTF for bpf2go -type. */
const struct chunk_event *unused_chunk_event __attribute__((unused));
const enum event_type *unused_event_type __attribute__((unused));
const enum counter_id *unused_counter_id __attribute__((unused));

static __always_inline int dump_enter(struct sk_buff *skb, struct netlink_callback *cb)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;

	struct chunk_start *st = bpf_map_lookup_elem(&chunk_starts, &tid);
	if (st) {
		/* A wrapped handler: the outermost call owns the chunk. */
		if (st->skb == (__u64)skb) {
			st->depth++;
			return 0;
		}
		/* A stale entry (a missed kretprobe): drop it. */
		bpf_map_delete_elem(&chunk_starts, &tid);
	}
	if (filter_pid && (id >> 32) != filter_pid)
		return 0;
	if (filter_netns && net_inode(BPF_CORE_READ(skb, sk, __sk_common.skc_net.net)) != filter_netns)
		return 0;

	struct chunk_start s = {
		.ts = bpf_ktime_get_ns(),
		.skb = (__u64)skb,
		.cb = (__u64)cb,
		.handler = (__u64)BPF_CORE_READ(cb, dump),
		.handler_data = (__u64)BPF_CORE_READ(cb, data),
		.prev_seq = BPF_CORE_READ(cb, prev_seq),
		.seq = BPF_CORE_READ(cb, seq),
		.depth = 1,
	};
	bpf_map_update_elem(&chunk_starts, &tid, &s, BPF_ANY);
	return 0;
}

static __always_inline int dump_exit(int ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;

	struct chunk_start *st = bpf_map_lookup_elem(&chunk_starts, &tid);
	if (!st)
		return 0;
	if (--st->depth > 0)
		return 0;
	struct sk_buff *skb = (struct sk_buff *)st->skb;
	struct netlink_callback *cb = (struct netlink_callback *)st->cb;

	struct chunk_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		bpf_map_delete_elem(&chunk_starts, &tid);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = EVENT_CHUNK;
	e->ts_start = st->ts;
	e->ts_end = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = tid;
	e->prev_seq_before = st->prev_seq;
	e->seq_before = st->seq;
	e->handler = st->handler;
	e->handler_data = st->handler_data;
	bpf_map_delete_elem(&chunk_starts, &tid);

	struct sock *sk = BPF_CORE_READ(skb, sk);
	struct net *net = BPF_CORE_READ(sk, __sk_common.skc_net.net);
	e->netns = net_inode(net);
	e->portid = BPF_CORE_READ((struct netlink_sock *)sk, portid);
	e->req_seq = BPF_CORE_READ(cb, nlh, nlmsg_seq);
	e->msg_type = BPF_CORE_READ(cb, nlh, nlmsg_type);
	e->prev_seq_after = BPF_CORE_READ(cb, prev_seq);
	e->seq_after = BPF_CORE_READ(cb, seq);
	e->dev_base_seq = read_counter(net, COUNTER_DEV_BASE_SEQ);
	e->addr_genid4 = read_counter(net, COUNTER_ADDR_GENID4);
	e->addr_genid6 = read_counter(net, COUNTER_ADDR_GENID6);
	e->nexthop_seq = read_counter(net, COUNTER_NEXTHOP_SEQ);
	e->bytes = BPF_CORE_READ(skb, len);
	e->ret = ret;
	bpf_get_current_comm(e->comm, sizeof(e->comm));

	/* The ground truth: nl_dump_check_consistent() ORs the flag into the
	 * chunk's first header, at skb->data. */
	if (e->bytes >= NLMSG_HDRLEN) {
		struct nlmsghdr *nlh = (struct nlmsghdr *)BPF_CORE_READ(skb, data);
		e->first_flags = BPF_CORE_READ(nlh, nlmsg_flags);
		e->flagged = (e->first_flags & NLM_F_DUMP_INTR) != 0;
	}
	/* The counter moved since the previous chunk, but there is no message
	 * to carry the flag: NLMSG_DONE's header will overwrite it. */
	if (e->bytes == 0 && e->prev_seq_before != 0 && e->seq_after != e->prev_seq_before)
		e->lost = 1;
	/* netlink_dump_done() runs the same check on NLMSG_DONE. */
	if (ret == 0) {
		e->done = 1;
		e->done_flagged = e->prev_seq_after != 0 && e->seq_after != e->prev_seq_after;
	}
	submit(e);
	return 0;
}

/* The empty function name: see the top of this file. */
TWIN(dump, , dump_enter(skb, cb), struct sk_buff *skb, struct netlink_callback *cb)
TWIN_EXIT(dump, , dump_exit(ret), struct sk_buff *skb, struct netlink_callback *cb)
