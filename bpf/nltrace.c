//go:build ignore

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * nltrace's kernel side: one sample per chunk of a netlink dump (the dump
 * side) and one event per bump of a generation counter (the writer side).
 *
 * Every hook has twin entry points, fentry/fexit and kprobe/kretprobe,
 * calling one shared body; userspace loads the twins of one backend only.
 * The dump-side fentry/kprobe programs name rtnl_dump_ifinfo, but
 * userspace attaches them to every dump handler it finds (all share the
 * signature int (*)(struct sk_buff *, struct netlink_callback *)).
 */
#include "kernel.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "events.h"

char __license[] SEC("license") = "Dual BSD/GPL";

#define NLM_F_DUMP_INTR 0x10
#define NETDEV_UP 1
#define NETDEV_DOWN 2
#define RTM_NEWADDR 20
#define RTM_DELADDR 21
#define NLMSG_HDRLEN 16
/* A netns move's unlist/list pair runs within this time of its start. */
#define MOVE_WINDOW_NS 1000000000ULL
#define RINGBUF_SIZE (1 << 22)

/* Set by userspace before load; zero means "any". */
volatile const __u64 filter_netns = 0;
volatile const __u32 filter_pid = 0;
volatile const bool want_stacks = false;

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

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 4096);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 127 * sizeof(__u64));
} stacks SEC(".maps");

/* A dump handler's state between its entry and its exit, per thread. */
struct dump_stash {
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
	__type(value, struct dump_stash);
} dump_stash SEC(".maps");

/* Threads inside __dev_change_net_namespace, with its start time. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} moving SEC(".maps");

/* Per-CPU variables, by address from kallsyms (weak: absent is fine). */
extern void __per_cpu_offset __ksym __weak;
extern void pcpu_hot __ksym __weak;        /* x86, 6.2+ */
extern void __preempt_count __ksym __weak; /* x86, before 6.2 */

#define SOFTIRQ_OFFSET 0x100
#define HARDIRQ_NMI_MASK 0xff0000

/* Keep the event types in the object's BTF for bpf2go -type. */
const struct chunk_event *unused_chunk_event __attribute__((unused));
const struct writer_event *unused_writer_event __attribute__((unused));
const enum event_type *unused_event_type __attribute__((unused));
const enum writer_op *unused_writer_op __attribute__((unused));
const enum counter_id *unused_counter_id __attribute__((unused));
const enum context *unused_context __attribute__((unused));

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

/* ---- dump side ---- */

static __always_inline int dump_enter(struct sk_buff *skb, struct netlink_callback *cb)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;

	struct dump_stash *st = bpf_map_lookup_elem(&dump_stash, &tid);
	if (st) {
		/* A wrapped handler: the outermost call owns the chunk. */
		if (st->skb == (__u64)skb) {
			st->depth++;
			return 0;
		}
		/* A stale entry (a missed kretprobe): drop it. */
		bpf_map_delete_elem(&dump_stash, &tid);
	}
	if (filter_pid && (id >> 32) != filter_pid)
		return 0;
	if (filter_netns && net_inode(BPF_CORE_READ(skb, sk, __sk_common.skc_net.net)) != filter_netns)
		return 0;

	struct dump_stash s = {
		.ts = bpf_ktime_get_ns(),
		.skb = (__u64)skb,
		.cb = (__u64)cb,
		.handler = (__u64)BPF_CORE_READ(cb, dump),
		.handler_data = (__u64)BPF_CORE_READ(cb, data),
		.prev_seq = BPF_CORE_READ(cb, prev_seq),
		.seq = BPF_CORE_READ(cb, seq),
		.depth = 1,
	};
	bpf_map_update_elem(&dump_stash, &tid, &s, BPF_ANY);
	return 0;
}

static __always_inline int dump_exit(int ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;

	struct dump_stash *st = bpf_map_lookup_elem(&dump_stash, &tid);
	if (!st)
		return 0;
	if (--st->depth > 0)
		return 0;
	struct sk_buff *skb = (struct sk_buff *)st->skb;
	struct netlink_callback *cb = (struct netlink_callback *)st->cb;

	struct chunk_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		bpf_map_delete_elem(&dump_stash, &tid);
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
	bpf_map_delete_elem(&dump_stash, &tid);

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

SEC("fentry/rtnl_dump_ifinfo")
int BPF_PROG(fentry_dump, struct sk_buff *skb, struct netlink_callback *cb)
{
	return dump_enter(skb, cb);
}

SEC("fexit/rtnl_dump_ifinfo")
int BPF_PROG(fexit_dump, struct sk_buff *skb, struct netlink_callback *cb, int ret)
{
	return dump_exit(ret);
}

SEC("kprobe/rtnl_dump_ifinfo")
int BPF_KPROBE(kprobe_dump, struct sk_buff *skb, struct netlink_callback *cb)
{
	return dump_enter(skb, cb);
}

SEC("kretprobe/rtnl_dump_ifinfo")
int BPF_KRETPROBE(kretprobe_dump, int ret)
{
	return dump_exit(ret);
}

/* ---- writer side ---- */

/* Whether the writer runs in an interrupt (IPv6 router advertisements are
 * processed in softirq): current is then whatever task was interrupted.
 * Read from this CPU's preempt count. */
static __always_inline __u8 irq_context(void)
{
	__u64 base = (__u64)&__per_cpu_offset;
	__u64 var = 0;
	if (bpf_core_type_exists(struct pcpu_hot) && (__u64)&pcpu_hot)
		var = (__u64)&pcpu_hot + bpf_core_field_offset(struct pcpu_hot, preempt_count);
	else
		var = (__u64)&__preempt_count;
	if (!base || !var)
		return CONTEXT_UNKNOWN;
	__u64 off = 0;
	int count = 0;
	__u32 cpu = bpf_get_smp_processor_id();
	if (bpf_probe_read_kernel(&off, sizeof(off), (void *)(base + cpu * sizeof(__u64))) ||
	    bpf_probe_read_kernel(&count, sizeof(count), (void *)(off + var)))
		return CONTEXT_UNKNOWN;
	if (count & HARDIRQ_NMI_MASK)
		return CONTEXT_HARDIRQ;
	if (count & SOFTIRQ_OFFSET)
		return CONTEXT_SOFTIRQ;
	return CONTEXT_TASK;
}

static __always_inline struct writer_event *writer_start(void *ctx, struct net *net, __u8 op, __u8 counter)
{
	__u64 ino = net_inode(net);
	if (filter_netns && ino != filter_netns)
		return 0;
	struct writer_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	__u64 id = bpf_get_current_pid_tgid();
	e->type = EVENT_WRITER;
	e->op = op;
	e->counter = counter;
	e->ts = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->netns = ino;
	e->before = read_counter(net, counter);
	e->stack_id = -1;
	if (want_stacks)
		e->stack_id = bpf_get_stackid(ctx, &stacks, 0);
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	e->task_flags = BPF_CORE_READ(task, flags);
	e->context = irq_context();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

static __always_inline void set_dev(struct writer_event *e, struct net_device *dev)
{
	e->ifindex = BPF_CORE_READ(dev, ifindex);
	BPF_CORE_READ_STR_INTO(&e->ifname, dev, name);
}

static __always_inline bool in_move(bool end)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *start = bpf_map_lookup_elem(&moving, &tid);
	if (!start)
		return false;
	bool ok = bpf_ktime_get_ns() - *start < MOVE_WINDOW_NS;
	if (end || !ok)
		bpf_map_delete_elem(&moving, &tid);
	return ok;
}

static __always_inline int netdev_listed(void *ctx, struct net_device *dev, bool listed)
{
	struct net *net = BPF_CORE_READ(dev, nd_net.net);
	__u8 op;
	if (listed)
		op = in_move(true) ? OP_MOVE_IN : OP_REGISTER;
	else
		op = in_move(false) ? OP_MOVE_OUT : OP_UNREGISTER;
	struct writer_event *e = writer_start(ctx, net, op, COUNTER_DEV_BASE_SEQ);
	if (!e)
		return 0;
	set_dev(e, dev);
	submit(e);
	return 0;
}

static __always_inline int netns_move_start(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 now = bpf_ktime_get_ns();
	bpf_map_update_elem(&moving, &tid, &now, BPF_ANY);
	return 0;
}

static __always_inline int inetaddr_event(void *ctx, unsigned long event, struct in_ifaddr *ifa)
{
	if (event != NETDEV_UP && event != NETDEV_DOWN)
		return 0;
	struct net_device *dev = BPF_CORE_READ(ifa, ifa_dev, dev);
	struct net *net = BPF_CORE_READ(dev, nd_net.net);
	struct writer_event *e = writer_start(ctx, net, event == NETDEV_UP ? OP_ADDR4_ADD : OP_ADDR4_DEL, COUNTER_ADDR_GENID4);
	if (!e)
		return 0;
	set_dev(e, dev);
	__be32 addr = BPF_CORE_READ(ifa, ifa_local);
	__builtin_memcpy(e->addr, &addr, sizeof(addr));
	e->prefixlen = BPF_CORE_READ(ifa, ifa_prefixlen);
	submit(e);
	return 0;
}

static __always_inline int netdev_event(void *ctx, unsigned long event, struct netdev_notifier_info *info)
{
	if (event != NETDEV_UP)
		return 0;
	struct net_device *dev = BPF_CORE_READ(info, dev);
	struct net *net = BPF_CORE_READ(dev, nd_net.net);
	struct writer_event *e = writer_start(ctx, net, OP_LINK_UP, COUNTER_ADDR_GENID4);
	if (!e)
		return 0;
	set_dev(e, dev);
	submit(e);
	return 0;
}

static __always_inline int ipv6_ifa_notify(void *ctx, int event, struct inet6_ifaddr *ifp)
{
	struct net_device *dev = BPF_CORE_READ(ifp, idev, dev);
	struct net *net = BPF_CORE_READ(dev, nd_net.net);
	struct writer_event *e = writer_start(ctx, net, event == RTM_DELADDR ? OP_ADDR6_DEL : OP_ADDR6_NEW, COUNTER_ADDR_GENID6);
	if (!e)
		return 0;
	set_dev(e, dev);
	BPF_CORE_READ_INTO(&e->addr, ifp, addr.in6_u.u6_addr8);
	e->prefixlen = BPF_CORE_READ(ifp, prefix_len);
	submit(e);
	return 0;
}

static __always_inline int nexthop_request(void *ctx, struct sk_buff *skb, __u8 op)
{
	struct net *net = BPF_CORE_READ(skb, sk, __sk_common.skc_net.net);
	struct writer_event *e = writer_start(ctx, net, op, COUNTER_NEXTHOP_SEQ);
	if (e)
		submit(e);
	return 0;
}

static __always_inline int nexthop_flush(void *ctx, struct net_device *dev)
{
	struct net *net = BPF_CORE_READ(dev, nd_net.net);
	struct writer_event *e = writer_start(ctx, net, OP_NEXTHOP_FLUSH, COUNTER_NEXTHOP_SEQ);
	if (!e)
		return 0;
	set_dev(e, dev);
	submit(e);
	return 0;
}

SEC("fentry/list_netdevice")
int BPF_PROG(fentry_list_netdevice, struct net_device *dev)
{
	return netdev_listed(ctx, dev, true);
}

SEC("kprobe/list_netdevice")
int BPF_KPROBE(kprobe_list_netdevice, struct net_device *dev)
{
	return netdev_listed(ctx, dev, true);
}

SEC("fentry/unlist_netdevice")
int BPF_PROG(fentry_unlist_netdevice, struct net_device *dev)
{
	return netdev_listed(ctx, dev, false);
}

SEC("kprobe/unlist_netdevice")
int BPF_KPROBE(kprobe_unlist_netdevice, struct net_device *dev)
{
	return netdev_listed(ctx, dev, false);
}

SEC("fentry/__dev_change_net_namespace")
int BPF_PROG(fentry_dev_change_net_namespace)
{
	return netns_move_start();
}

SEC("kprobe/__dev_change_net_namespace")
int BPF_KPROBE(kprobe_dev_change_net_namespace)
{
	return netns_move_start();
}

SEC("fentry/fib_inetaddr_event")
int BPF_PROG(fentry_fib_inetaddr_event, void *nb, unsigned long event, struct in_ifaddr *ifa)
{
	return inetaddr_event(ctx, event, ifa);
}

SEC("kprobe/fib_inetaddr_event")
int BPF_KPROBE(kprobe_fib_inetaddr_event, void *nb, unsigned long event, struct in_ifaddr *ifa)
{
	return inetaddr_event(ctx, event, ifa);
}

SEC("fentry/fib_netdev_event")
int BPF_PROG(fentry_fib_netdev_event, void *nb, unsigned long event, struct netdev_notifier_info *info)
{
	return netdev_event(ctx, event, info);
}

SEC("kprobe/fib_netdev_event")
int BPF_KPROBE(kprobe_fib_netdev_event, void *nb, unsigned long event, struct netdev_notifier_info *info)
{
	return netdev_event(ctx, event, info);
}

SEC("fentry/__ipv6_ifa_notify")
int BPF_PROG(fentry_ipv6_ifa_notify, int event, struct inet6_ifaddr *ifp)
{
	return ipv6_ifa_notify(ctx, event, ifp);
}

SEC("kprobe/__ipv6_ifa_notify")
int BPF_KPROBE(kprobe_ipv6_ifa_notify, int event, struct inet6_ifaddr *ifp)
{
	return ipv6_ifa_notify(ctx, event, ifp);
}

SEC("fentry/rtm_new_nexthop")
int BPF_PROG(fentry_rtm_new_nexthop, struct sk_buff *skb)
{
	return nexthop_request(ctx, skb, OP_NEXTHOP_NEW);
}

SEC("kprobe/rtm_new_nexthop")
int BPF_KPROBE(kprobe_rtm_new_nexthop, struct sk_buff *skb)
{
	return nexthop_request(ctx, skb, OP_NEXTHOP_NEW);
}

SEC("fentry/rtm_del_nexthop")
int BPF_PROG(fentry_rtm_del_nexthop, struct sk_buff *skb)
{
	return nexthop_request(ctx, skb, OP_NEXTHOP_DEL);
}

SEC("kprobe/rtm_del_nexthop")
int BPF_KPROBE(kprobe_rtm_del_nexthop, struct sk_buff *skb)
{
	return nexthop_request(ctx, skb, OP_NEXTHOP_DEL);
}

SEC("fentry/nexthop_flush_dev")
int BPF_PROG(fentry_nexthop_flush_dev, struct net_device *dev)
{
	return nexthop_flush(ctx, dev);
}

SEC("kprobe/nexthop_flush_dev")
int BPF_KPROBE(kprobe_nexthop_flush_dev, struct net_device *dev)
{
	return nexthop_flush(ctx, dev);
}
