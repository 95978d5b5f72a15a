//go:build ignore

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The tracepoint backend where the kernel has the sock:sk_data_ready
 * tracepoint (6.6+): one program on it, run whenever a datagram is queued
 * on a socket. Syscall tracepoints would put every task of the machine on
 * the slow path in and out of the kernel (+13% for a process doing UDP on
 * loopback, with programs that return at once); this one costs a process
 * that never touches rtnetlink one family check per datagram.
 *
 * Dump side. netlink_dump() queues each chunk it builds on the dumping
 * socket, then wakes it: here, in the dumping task, with the chunk at the
 * tail of the queue and the callback as the handler left it. So this is
 * the fentry backend's chunk_event, taken when the chunk is queued instead
 * of when the handler returns.
 *
 * Writer side. nltrace keeps a socket of its own subscribed to link,
 * address and nexthop notifications in each namespace it watches. The
 * kernel sends a notification from inside the change, in the task making
 * it (a kernel worker for its own changes), with RTNL held: a notice_event
 * says who, what, and the counters at that moment; userspace hands the
 * bumps between two notices to one of them (probe/notices.go).
 */
#include "common.h"
#include "attr.h"
#include "device.h"

char __license[] SEC("license") = "Dual BSD/GPL";

/*
 * This file builds twice. With TP_BTF it is a BTF-typed raw tracepoint
 * (tp_btf): the verifier checks the loads from the socket, its buffers
 * and its namespace, so each is a plain load. Without, it is a raw
 * tracepoint, for kernels or policies that refuse tracing programs: every
 * read goes through bpf_probe_read_kernel, some forty nanoseconds each on
 * the development machine, twenty of them per chunk. R(x) reads field x
 * either way. The netlink_sock fields are always probe reads: the
 * argument is typed struct sock, and the verifier refuses loads past it.
 */
#ifdef TP_BTF
#define R(x) (x)
#else
#define R(x) ({ typeof(x) __r; bpf_core_read(&__r, sizeof(__r), &(x)); __r; })
#endif

#define AF_INET6 10
#define AF_NETLINK 16
#define NETLINK_ROUTE 0
#define NLM_F_MULTI 0x2
#define NLM_F_DUMP_INTR 0x10
#define NLMSG_ERROR 2
#define NLMSG_DONE 3
#define NLMSG_HDRLEN 16
/* NLMSG_DONE with its errno, and no extended ack. */
#define DONE_LEN 20
#define RTM_NEWLINK 16
#define RTM_GETLINK 18
#define RTM_NEWADDR 20
#define RTM_GETADDR 22
#define RTM_DELLINK 17
#define IFLA_IFNAME 3
#define IFLA_NEW_NETNSID 45
#define IFA_ADDRESS 1
#define IFA_LOCAL 2
#define IFINFOMSG_LEN 16
#define IFADDRMSG_LEN 8
/* Attributes looked at for a notification's device name or address: the
 * kernel puts those first. A move's target comes late, after some forty. */
#define MAX_ATTRS 4
#define MAX_LINK_ATTRS 64

/* Set by userspace before load; zero means any process. Only dumps are
 * filtered by process: the writer is usually another one. */
volatile const __u32 filter_pid = 0;

/* nltrace's listening sockets, by namespace and port id: set by
 * userspace once each is bound. */
struct listener_key {
	__u64 netns;
	__u32 portid;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct listener_key);
	__type(value, __u8);
} listeners SEC(".maps");

/* The dump running on a socket, as its previous chunk left it. */
struct dump_state {
	__u64 nlh; /* cb->nlh: the request */
	__u64 handler; /* cb->dump */
	/* cb->data as the first chunk found it: rtnl_dumpit clears it in the
	 * call that ends the walk. */
	__u64 handler_data;
	__u64 last_ts;
	__u32 portid;
	__u32 req_seq;
	__u32 last_seq; /* cb->seq after the previous chunk (0: none yet) */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* struct sock * */
	__type(value, struct dump_state);
} dumps SEC(".maps");

/* Keep the event type in the object's BTF for bpf2go -type. */
const struct notice_event *unused_notice_event __attribute__((unused));

/* The namespace's counters, by enum counter_id - 1. */
static __always_inline void counters_now(struct net *net, __u32 *k)
{
	k[0] = R(net->dev_base_seq);
	k[1] = R(net->ipv4.dev_addr_genid.counter);
	k[2] = bpf_core_field_exists(net->ipv6) ? R(net->ipv6.dev_addr_genid.counter) : 0;
	k[3] = bpf_core_field_exists(net->nexthop) ? R(net->nexthop.seq) : 0;
}

/* Whether the chunk is the dump's last: netlink_dump_done() put NLMSG_DONE
 * at its end (alone, or after the last messages), or it is an error. */
static __always_inline bool last_chunk(int done_errno, struct nlmsghdr *h, __u8 *data, __u32 len)
{
	if (h->nlmsg_type == NLMSG_ERROR)
		return true;
	if (done_errno > 0 || len < DONE_LEN)
		return false;
	struct nlmsghdr done;
	if (bpf_probe_read_kernel(&done, sizeof(done), data + len - DONE_LEN))
		return false;
	return done.nlmsg_type == NLMSG_DONE && done.nlmsg_len == DONE_LEN;
}

/* A chunk the socket's dump queued: h is its first header, req the
 * request's (at cb->nlh). Every chunk of every dump comes here: each
 * field is read once. */
static __always_inline int chunk(struct netlink_sock *nlk, struct net *net, __u64 ino, struct nlmsghdr *h,
				 __u8 *data, __u32 len, __u64 nlh, struct nlmsghdr *req)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (filter_pid && (id >> 32) != filter_pid)
		return 0;
	__u64 key = (__u64)nlk;
	__u64 now = bpf_ktime_get_ns();
	struct dump_state *st = bpf_map_lookup_elem(&dumps, &key);
	/* An entry left by an earlier dump, or an earlier socket at the same
	 * address: this chunk is a new dump's first. */
	if (st && (st->nlh != nlh || st->req_seq != h->nlmsg_seq || st->portid != h->nlmsg_pid))
		st = 0;
	if (!st) {
		struct dump_state s = {.nlh = nlh, .handler = (__u64)BPF_CORE_READ(nlk, cb.dump),
				       .handler_data = (__u64)BPF_CORE_READ(nlk, cb.data), .last_ts = now,
				       .portid = h->nlmsg_pid, .req_seq = h->nlmsg_seq};
		bpf_map_update_elem(&dumps, &key, &s, BPF_ANY);
		st = bpf_map_lookup_elem(&dumps, &key);
		if (!st)
			return 0;
	}
	/* Read before the record is reserved: records leave in the order
	 * they were reserved, so a record's counters are never newer than
	 * the records after it (a notice reserved meanwhile). */
	__u32 k[4];
	counters_now(net, k);
	/* nl_dump_check_consistent() set prev_seq to the seq the previous
	 * chunk's handler read; this chunk's handler compared against it.
	 * prev_seq and seq sit side by side in every kernel. */
	__u32 seqs[2] = {};
	bpf_probe_read_kernel(seqs, sizeof(seqs), &nlk->cb.prev_seq);
	struct chunk_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		bpf_map_delete_elem(&dumps, &key);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = EVENT_CHUNK;
	e->ts_start = st->last_ts;
	e->ts_end = now;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->netns = ino;
	e->portid = h->nlmsg_pid;
	e->req_seq = h->nlmsg_seq;
	e->msg_type = req->nlmsg_type;
	e->handler = st->handler;
	e->handler_data = st->handler_data;
	e->prev_seq_before = st->last_seq;
	e->seq_before = st->last_seq;
	e->prev_seq_after = seqs[0];
	e->seq_after = seqs[1];
	e->dev_base_seq = k[0];
	e->addr_genid4 = k[1];
	e->addr_genid6 = k[2];
	e->nexthop_seq = k[3];
	int done_errno = BPF_CORE_READ(nlk, dump_done_errno);
	e->bytes = len;
	e->ret = done_errno;
	e->first_flags = h->nlmsg_flags;
	e->flagged = (h->nlmsg_flags & NLM_F_DUMP_INTR) != 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (last_chunk(done_errno, h, data, len)) {
		/* What the handler put in, as the fentry backend counts it. */
		if (h->nlmsg_type != NLMSG_ERROR)
			e->bytes = len - DONE_LEN;
		e->done = 1;
		e->done_flagged = h->nlmsg_type == NLMSG_DONE && e->flagged;
		bpf_map_delete_elem(&dumps, &key);
	} else {
		st->last_seq = e->seq_after;
		st->last_ts = now;
	}
	submit(e);
	return 0;
}

/* What a link or address notification is about: its device, and the
 * address. */
static __always_inline void notice_subject(struct notice_event *e, struct net *net, __u8 *data, __u32 len)
{
	__u64 body = (__u64)data + NLMSG_HDRLEN, end = (__u64)data + len, value = 0;
	__u16 t = e->msg_type;
	if (t >= RTM_NEWLINK && t < RTM_GETLINK) {
		bpf_probe_read_kernel(&e->family, 1, (void *)body);
		bpf_probe_read_kernel(&e->ifindex, 4, (void *)(body + 4));
		if (find_attr(body + IFINFOMSG_LEN, end, IFLA_IFNAME, IFLA_IFNAME, &value, MAX_ATTRS, false))
			bpf_probe_read_kernel_str(e->ifname, sizeof(e->ifname), (void *)value);
		if (t == RTM_DELLINK)
			e->moved = find_attr(body + IFINFOMSG_LEN, end, IFLA_NEW_NETNSID, IFLA_NEW_NETNSID, &value,
					     MAX_LINK_ATTRS, false) != 0;
	} else if (t >= RTM_NEWADDR && t < RTM_GETADDR) {
		bpf_probe_read_kernel(&e->family, 1, (void *)body);
		bpf_probe_read_kernel(&e->prefixlen, 1, (void *)(body + 1));
		bpf_probe_read_kernel(&e->ifindex, 4, (void *)(body + 4));
		if (find_attr(body + IFADDRMSG_LEN, end, IFA_LOCAL, IFA_ADDRESS, &value, MAX_ATTRS, false))
			e->has_addr = !bpf_probe_read_kernel(e->addr, e->family == AF_INET6 ? 16 : 4, (void *)value);
		struct net_device *dev = device_by_index(net, e->ifindex);
		if (dev)
			bpf_core_read_str(e->ifname, sizeof(e->ifname), &dev->name);
	}
}

/* A notification on one of nltrace's listeners, or (baseline) a chunk of
 * the dump it makes when it opens. */
static __always_inline int notice(struct net *net, __u64 ino, struct nlmsghdr *h, __u8 *data, __u32 len, bool baseline)
{
	__u32 k[4];
	counters_now(net, k); /* before the reservation: see chunk() */
	struct notice_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	__builtin_memcpy(e->counters, k, sizeof(k));
	__u64 id = bpf_get_current_pid_tgid();
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	e->type = EVENT_NOTICE;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->task_flags = BPF_CORE_READ(task, flags);
	e->ts = bpf_ktime_get_ns();
	e->netns = ino;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (!baseline) {
		e->msg_type = h->nlmsg_type;
		if (h->nlmsg_len < len)
			len = h->nlmsg_len;
		notice_subject(e, net, data, len);
	}
	submit(e);
	return 0;
}

#ifdef TP_BTF
SEC("tp_btf/sk_data_ready")
#else
SEC("raw_tp/sk_data_ready")
#endif
int BPF_PROG(ready, struct sock *sk)
{
	/* Every datagram and stream wake-up of the machine comes here. 6.6+
	 * (the tracepoint's kernels) have sk_protocol as a field of its own. */
	if (R(sk->__sk_common.skc_family) != AF_NETLINK || R(sk->sk_protocol) != NETLINK_ROUTE)
		return 0;
	struct net *net = R(sk->__sk_common.skc_net.net);
	__u64 ino = R(net->ns.inum);
	if (filter_netns && ino != filter_netns)
		return 0;
	struct sk_buff *skb = R(sk->sk_receive_queue.prev);
	if (!skb || (void *)skb == (void *)&sk->sk_receive_queue)
		return 0;
	__u8 *data = R(skb->data);
	__u32 len = R(skb->len);
	struct nlmsghdr h;
	if (len < NLMSG_HDRLEN || bpf_probe_read_kernel(&h, sizeof(h), data))
		return 0;
	struct netlink_sock *nlk = (struct netlink_sock *)sk;
	__u32 portid = BPF_CORE_READ(nlk, portid);
	/* A reply of a dump the socket asked for; a notification carries the
	 * port id of the socket that asked for the change instead. */
	__u64 nlh = 0;
	struct nlmsghdr req = {};
	bool dump = h.nlmsg_pid == portid &&
		    (h.nlmsg_flags & NLM_F_MULTI || h.nlmsg_type == NLMSG_DONE || h.nlmsg_type == NLMSG_ERROR) &&
		    BPF_CORE_READ(nlk, cb_running) && (nlh = (__u64)BPF_CORE_READ(nlk, cb.nlh)) &&
		    !bpf_probe_read_kernel(&req, sizeof(req), (void *)nlh) && h.nlmsg_seq == req.nlmsg_seq;
	struct listener_key k = {.netns = ino, .portid = portid};
	if (bpf_map_lookup_elem(&listeners, &k))
		return notice(net, ino, &h, data, len, dump);
	if (!dump)
		return 0;
	return chunk(nlk, net, ino, &h, data, len, nlh, &req);
}
