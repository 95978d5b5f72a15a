//go:build ignore

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The writer side: one event per call that bumps (or may bump) one of the
 * generation counters a dump compares, with who made it and in which
 * context. Each hook is a kernel function named in its TWIN line.
 */
#include "common.h"

char __license[] SEC("license") = "Dual BSD/GPL";

#define NETDEV_UP 1
#define NETDEV_DOWN 2
#define RTM_DELADDR 21
/* A netns move's unlist/list pair runs within this time of its start. */
#define MOVE_WINDOW_NS 1000000000ULL

/* Set by userspace before load. */
volatile const bool want_stacks = false;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 4096);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 127 * sizeof(__u64));
} stacks SEC(".maps");

/* Threads inside __dev_change_net_namespace, with its start time. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} moving SEC(".maps");

/* Keep the event types in the object's BTF for bpf2go -type. */
const struct writer_event *unused_writer_event __attribute__((unused));
const enum writer_op *unused_writer_op __attribute__((unused));
const enum context *unused_context __attribute__((unused));

#define SOFTIRQ_OFFSET 0x100
#define HARDIRQ_NMI_MASK 0xff0000

#if defined(__TARGET_ARCH_x86)
/* x86 keeps the preempt count per CPU: in pcpu_hot from 6.2 (this
 * machine's 6.18 has none again), in __preempt_count otherwise. Found by
 * address from kallsyms; weak, so that an absent one reads as 0. */
extern void __per_cpu_offset __ksym __weak;
extern void pcpu_hot __ksym __weak;
extern void __preempt_count __ksym __weak;

static __always_inline long read_preempt_count(int *count)
{
	__u64 base = (__u64)&__per_cpu_offset;
	__u64 var = 0;
	if (bpf_core_type_exists(struct pcpu_hot) && (__u64)&pcpu_hot)
		var = (__u64)&pcpu_hot + bpf_core_field_offset(struct pcpu_hot, preempt_count);
	else
		var = (__u64)&__preempt_count;
	if (!base || !var)
		return -1;
	__u64 off = 0;
	__u32 cpu = bpf_get_smp_processor_id();
	if (bpf_probe_read_kernel(&off, sizeof(off), (void *)(base + cpu * sizeof(__u64))))
		return -1;
	return bpf_probe_read_kernel(count, sizeof(*count), (void *)(off + var));
}
#elif defined(__TARGET_ARCH_arm64)
/* arm64 keeps it in the task (THREAD_INFO_IN_TASK), and an interrupt runs
 * on the interrupted task's count. Its low half is read: little-endian. */
static __always_inline long read_preempt_count(int *count)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	if (!bpf_core_field_exists(task->thread_info.preempt_count))
		return -1;
	return bpf_core_read(count, sizeof(*count), &task->thread_info.preempt_count);
}
#else
static __always_inline long read_preempt_count(int *count)
{
	return -1;
}
#endif

/* Whether the writer runs in an interrupt (IPv6 router advertisements are
 * processed in softirq): current is then whatever task was interrupted. */
static __always_inline __u8 irq_context(void)
{
	int count = 0;
	if (read_preempt_count(&count))
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

TWIN(list_netdevice, list_netdevice, netdev_listed(ctx, dev, true), struct net_device *dev)
TWIN(unlist_netdevice, unlist_netdevice, netdev_listed(ctx, dev, false), struct net_device *dev)
TWIN(dev_change_net_namespace, __dev_change_net_namespace, netns_move_start())
TWIN(fib_inetaddr_event, fib_inetaddr_event, inetaddr_event(ctx, event, ifa),
     void *nb, unsigned long event, struct in_ifaddr *ifa)
TWIN(fib_netdev_event, fib_netdev_event, netdev_event(ctx, event, info),
     void *nb, unsigned long event, struct netdev_notifier_info *info)
TWIN(ipv6_ifa_notify, __ipv6_ifa_notify, ipv6_ifa_notify(ctx, event, ifp), int event, struct inet6_ifaddr *ifp)
TWIN(rtm_new_nexthop, rtm_new_nexthop, nexthop_request(ctx, skb, OP_NEXTHOP_NEW), struct sk_buff *skb)
TWIN(rtm_del_nexthop, rtm_del_nexthop, nexthop_request(ctx, skb, OP_NEXTHOP_DEL), struct sk_buff *skb)
TWIN(nexthop_flush_dev, nexthop_flush_dev, nexthop_flush(ctx, dev), struct net_device *dev)
