//go:build ignore

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The tracepoint backend, for kernels that refuse fentry and kprobes: both
 * sides seen from the syscalls of the processes involved, on rtnetlink
 * sockets only.
 *
 * Dump side. A chunk is built inside the syscall before the one that reads
 * it: sendmsg builds the first, and each recvmsg, once it has taken a
 * datagram off the queue, builds the next (netlink_recvmsg calls
 * netlink_dump). So at every syscall exit on a socket with a dump running,
 * the chunks built so far are the datagrams read plus those queued, and the
 * program snapshots the callback's seq and the namespace's counters for a
 * new one. When a datagram of the dump is read, it sends the chunk_event
 * the fentry backend would have sent: the flag from the datagram's first
 * header, the counters from the snapshot taken when that chunk was built
 * (off by the time between the handler's return and the syscall's).
 *
 * Writer side. A change request (RTM_NEW*, RTM_DEL*, RTM_SET*) sent on an
 * rtnetlink socket, or a legacy ioctl that changes devices or addresses,
 * with the counters of the socket's (the task's) namespace at the
 * syscall's entry and exit; userspace hands the bumps between them to the requests
 * that ran (request_event). Requests run one at a time under RTNL, but
 * their syscalls overlap: while one waits for a mutex another traced
 * request holds (RTNL, as a rule), the bumps are not its own, and the
 * holder's window ends when the waiter gets it (lock:contention_begin/end).
 */
#include "common.h"
#include "attr.h"
#include "device.h"

char __license[] SEC("license") = "Dual BSD/GPL";

#define AF_INET6 10
#define AF_NETLINK 16
#define NETLINK_ROUTE 0
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define MSG_PEEK 2
#define NLM_F_MULTI 0x2
#define NLM_F_DUMP 0x300
#define NLM_F_DUMP_INTR 0x10
#define NLMSG_ERROR 2
#define NLMSG_DONE 3
#define NLMSG_HDRLEN 16
#define RTM_BASE 16
#define RTM_NEWLINK 16
#define RTM_GETLINK 18
#define RTM_SETLINK 19
#define RTM_NEWADDR 20
#define RTM_GETADDR 22
#define RTM_GETSTATS 94
#define RTM_GETNEXTHOP 106
#define AF_INET 2
#define IFLA_IFNAME 3
#define IFA_ADDRESS 1
#define IFA_LOCAL 2
/* Chunks a dump may have built and not yet read: 2 is the most seen with
 * a reader that peeks before every read (iproute2, mdlayher/netlink). */
#define SNAPSHOTS 8
/* Attributes looked at for a request's device name or address. */
#define MAX_ATTRS 8
#define LCB_F_MUTEX (1U << 5)
/* Waits for RTNL a request reports: before its bumps, and once more in
 * netdev_run_todo after a device deletion. */
#define WAITS 2
#define MUTEX_FLAGS 0x07

/* Set by userspace before load; zero means any process. Only dumps are
 * filtered by process: the writer is usually another one. */
volatile const __u32 filter_pid = 0;

/* The syscall tracepoints' records (include/trace/events/syscalls.h, or
 * the format files in tracefs): every argument as a long after the
 * common header and the number. */
struct sys_enter_ctx {
	__u64 common;
	int nr;
	int pad;
	unsigned long args[6];
};

struct sys_exit_ctx {
	__u64 common;
	int nr;
	int pad;
	long ret;
};

/* include/trace/events/lock.h */
struct contention_begin_ctx {
	__u64 common;
	__u64 lock;
	unsigned int flags;
};

struct contention_end_ctx {
	__u64 common;
	__u64 lock;
	int ret;
};

/* Userspace ABI (LP64), read from user memory as is. */
struct iovec_user {
	__u64 base;
	__u64 len;
};

struct msghdr_user {
	__u64 name;
	int namelen;
	__u64 iov;
	__u64 iovlen;
};

struct nlhdr_user {
	__u32 len;
	__u16 type;
	__u16 flags;
	__u32 seq;
	__u32 pid;
};

struct ifinfomsg_user {
	__u8 family;
	__u8 pad;
	__u16 type;
	__s32 index;
	__u32 flags;
	__u32 change;
};

struct ifaddrmsg_user {
	__u8 family;
	__u8 prefixlen;
	__u8 flags;
	__u8 scope;
	__u32 index;
};

/* The device or address a change request names. */
struct subject {
	__s32 ifindex;
	__u8 family;
	__u8 prefixlen;
	__u8 has_addr;
	__u8 dev_state; /* enum dev_state */
	__u8 addr[16];
	char ifname[16];
};

/* The state of a chunk when it was built. */
struct snapshot {
	__u64 start; /* entry of the syscall that built it */
	__u64 ts;    /* its exit */
	__u32 chunk; /* which chunk of the dump (0: none yet) */
	__u32 seq;   /* cb->seq */
	__u32 counters[4];
};

/* The dump running on a socket. */
struct dump_state {
	__u32 req_seq;
	__u32 portid; /* of the socket that asked: an entry outlives its socket */
	__u16 msg_type;
	__u8 active;
	__u8 family;   /* of the request (rtgenmsg, ifaddrmsg...) */
	__u32 read;    /* datagrams of the dump read */
	__u32 foreign; /* other datagrams read meanwhile (notifications, acks) */
	__u32 built;   /* datagrams queued so far: read, foreign, still queued */
	struct snapshot snaps[SNAPSHOTS]; /* chunk j in snaps[j % SNAPSHOTS] */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* struct sock * */
	__type(value, struct dump_state);
} dumps SEC(".maps");

enum call_kind {
	CALL_SEND = 1,
	CALL_RECV = 2,
	CALL_IOCTL = 3,
};

/* A syscall on an rtnetlink socket between its entry and its exit. */
struct call {
	__u64 sk;
	__u64 net; /* struct net * whose counters a change moves */
	__u32 ioctl;
	__u32 pad3;
	__u64 buf; /* the request sent, or the buffer read into */
	__u64 len;
	__u64 ts;
	int nr; /* the syscall: an exit must match its entry */
	__u8 kind;
	__u8 peek;
	__u8 dump; /* a dump request */
	__u8 pad;
	struct nlhdr_user req;
	__u32 before[4];
	/* Set when a later request took the mutex this one held: its window
	 * ends there. */
	__u32 end[4];
	/* The counters while this one waited for a mutex another request
	 * held: when it began (wait_from), and the first two waits. */
	__u32 wait_from[4];
	__u32 waited_from[WAITS][4];
	__u32 waited_to[WAITS][4];
	__u8 has_end;
	__u8 waits;
	__u8 pad2[2];
	/* The mutex this request waits for, held by the request of thread
	 * owner that began at owner_ts; when it began waiting. */
	__u32 owner;
	__u64 lock;
	__u64 owner_ts;
	__u64 wait_ts;
	/* What a change request names, read at entry: a device it deletes
	 * is gone by its exit. */
	struct subject subj;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32); /* thread */
	__type(value, struct call);
} calls SEC(".maps");

/* The last traced request that took each contended mutex. */
struct holder {
	__u64 taken;   /* when */
	__u64 call_ts; /* its call's entry, to tell it from a later call of the thread */
	__u32 tid;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 256);
	__type(key, __u64); /* struct mutex * */
	__type(value, struct holder);
} holders SEC(".maps");

static const struct dump_state empty_dump;

/* Keep the event type in the object's BTF for bpf2go -type. */
const struct request_event *unused_request_event __attribute__((unused));
const enum dev_state *unused_dev_state __attribute__((unused));

/* The socket behind fd when it is an rtnetlink socket of the namespace
 * watched. Every receive and send on the system comes here: non-sockets
 * leave early. */
static __always_inline struct sock *rtnl_sock(long fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = 0;
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return 0;
	if ((BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return 0;
	struct socket *so = BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(so, sk);
	if (!sk || BPF_CORE_READ(sk, __sk_common.skc_family) != AF_NETLINK)
		return 0;
	if (BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) != NETLINK_ROUTE)
		return 0;
	if (filter_netns && net_inode(BPF_CORE_READ(sk, __sk_common.skc_net.net)) != filter_netns)
		return 0;
	return sk;
}

static __always_inline struct net *sock_net(struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net);
}

/* Whether cb->seq is what the handler would have put there with these
 * counters: one of them, or an address counter combined with
 * dev_base_seq (a sum since a 2024 fix, XOR before). */
static __always_inline bool seq_of(__u32 seq, __u32 *k)
{
	return seq == k[0] || seq == k[1] + k[0] || seq == (k[1] ^ k[0]) || seq == k[2] + k[0] ||
	       seq == (k[2] ^ k[0]) || seq == k[3];
}

/* The address counter (index in counters) an address dump of this
 * family combines with dev_base_seq in cb->seq; 0 for other dumps. */
static __always_inline int addr_counter(struct dump_state *st)
{
	if (st->msg_type != RTM_GETADDR)
		return 0;
	if (st->family == AF_INET)
		return COUNTER_ADDR_GENID4 - 1;
	if (st->family == AF_INET6)
		return COUNTER_ADDR_GENID6 - 1;
	return 0;
}

/* A chunk's counters, as the handler that built it during the syscall
 * read them: what cb->seq holds where it is the counter itself; for an
 * address dump, the address counter that cb->seq combines with a
 * dev_base_seq that stayed still, within the values seen at the
 * syscall's entry (entry) and exit; else the exit's values, unless cb->seq
 * says they moved since and the entry's fit it. */
static __always_inline void snapshot(struct snapshot *s, struct sock *sk, struct dump_state *st, struct call *c)
{
	__u32 *entry = c->before;
	s->start = c->ts;
	s->ts = bpf_ktime_get_ns();
	s->seq = BPF_CORE_READ((struct netlink_sock *)sk, cb.seq);
	__u32 *k = s->counters;
	read_counters(sock_net(sk), k);
	switch (st->msg_type) {
	case RTM_GETLINK:
	case RTM_GETSTATS:
		k[COUNTER_DEV_BASE_SEQ - 1] = s->seq;
		return;
	case RTM_GETNEXTHOP:
		k[COUNTER_NEXTHOP_SEQ - 1] = s->seq;
		return;
	}
	int a = addr_counter(st);
	if (a && entry[0] == k[0]) {
		__u32 sum = s->seq - k[0], xor = s->seq ^ k[0];
		if (sum - entry[a] <= k[a] - entry[a]) {
			k[a] = sum;
			return;
		}
		if (xor - entry[a] <= k[a] - entry[a]) {
			k[a] = xor;
			return;
		}
	}
	if (!seq_of(s->seq, k) && seq_of(s->seq, entry))
		__builtin_memcpy(k, entry, sizeof(s->counters));
}

/* Datagrams queued by now: read (the dump's and others) plus queued. A
 * notification queued on a socket that also listens to groups counts as
 * a chunk until it is read: its snapshot is then never used. */
static __always_inline void note_built(struct dump_state *st, struct sock *sk, struct call *c)
{
	__u32 built = st->read + st->foreign + BPF_CORE_READ(sk, sk_receive_queue.qlen);
	/* One chunk per syscall; a chunk without its snapshot is read with a
	 * fresh one (chunk_read). */
	for (int i = 0; i < 2; i++) {
		if ((__s32)(built - st->built) <= 0)
			break;
		st->built++;
		struct snapshot *snap = &st->snaps[st->built & (SNAPSHOTS - 1)];
		snapshot(snap, sk, st, c);
		snap->chunk = st->built;
	}
	if ((__s32)(built - st->built) > 0)
		st->built = built;
}

/* The first iovec of a user msghdr. */
static __always_inline int msghdr_buf(__u64 msg, __u64 *buf, __u64 *len)
{
	struct msghdr_user m;
	struct iovec_user iov;
	if (bpf_probe_read_user(&m, sizeof(m), (void *)msg) || !m.iovlen)
		return -1;
	if (bpf_probe_read_user(&iov, sizeof(iov), (void *)m.iov))
		return -1;
	*buf = iov.base;
	*len = iov.len;
	return 0;
}

#define IFF_UP 1

/* What a device has that its deletion would drop. */
static __always_inline __u8 device_state(struct net_device *dev)
{
	__u8 st = DEV_FOUND;
	if (BPF_CORE_READ(dev, flags) & IFF_UP)
		st |= DEV_UP;
	if (BPF_CORE_READ(dev, ip_ptr, ifa_list))
		st |= DEV_ADDR4;
	struct inet6_dev *idev = BPF_CORE_READ(dev, ip6_ptr);
	if (idev && BPF_CORE_READ(idev, addr_list.next) != &idev->addr_list)
		st |= DEV_ADDR6;
	return st;
}

/* The name and state of the device with this index in net. */
static __always_inline void find_device(struct net *net, struct subject *sub)
{
	struct net_device *dev = device_by_index(net, sub->ifindex);
	if (!dev)
		return;
	if (!sub->ifname[0])
		bpf_core_read_str(sub->ifname, sizeof(sub->ifname), &dev->name);
	sub->dev_state |= device_state(dev);
}

/* What a change request names: a device (ifinfomsg), or an address on
 * one (ifaddrmsg); a device named by index only is looked up. */
static __always_inline void request_subject(struct call *c, struct net *net)
{
	struct subject *sub = &c->subj;
	__u64 body = c->buf + NLMSG_HDRLEN;
	__u64 end = c->buf + (c->req.len < c->len ? c->req.len : c->len);
	__u64 value = 0;
	__u16 t = c->req.type;
	if (t >= RTM_NEWLINK && t <= RTM_SETLINK) {
		struct ifinfomsg_user m;
		if (bpf_probe_read_user(&m, sizeof(m), (void *)body))
			return;
		sub->family = m.family;
		sub->ifindex = m.index;
		if (m.flags & IFF_UP)
			sub->dev_state |= DEV_SET_UP;
		if (find_attr(body + sizeof(m), end, IFLA_IFNAME, IFLA_IFNAME, &value, MAX_ATTRS, true))
			bpf_probe_read_user_str(sub->ifname, sizeof(sub->ifname), (void *)value);
	} else if (t >= RTM_NEWADDR && t < RTM_GETADDR) {
		struct ifaddrmsg_user m;
		if (bpf_probe_read_user(&m, sizeof(m), (void *)body))
			return;
		sub->family = m.family;
		sub->prefixlen = m.prefixlen;
		sub->ifindex = m.index;
		if (find_attr(body + sizeof(m), end, IFA_LOCAL, IFA_ADDRESS, &value, MAX_ATTRS, true)) {
			if (m.family == AF_INET6)
				sub->has_addr = !bpf_probe_read_user(sub->addr, 16, (void *)value);
			else
				sub->has_addr = !bpf_probe_read_user(sub->addr, 4, (void *)value);
		}
	}
	if (sub->ifindex > 0)
		find_device(net, sub);
}

static __always_inline int send_enter(struct sys_enter_ctx *ctx, struct sock *sk, __u64 buf, __u64 len)
{
	struct call c = {.sk = (__u64)sk, .net = (__u64)sock_net(sk), .buf = buf, .len = len, .nr = ctx->nr, .kind = CALL_SEND};
	if (len < NLMSG_HDRLEN || bpf_probe_read_user(&c.req, sizeof(c.req), (void *)buf))
		return 0;
	__u16 t = c.req.type;
	if (t < RTM_BASE)
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	if ((t - RTM_BASE) % 4 == 2) {
		/* rtnetlink_rcv_msg: a GET with either dump bit dumps. */
		if (!(c.req.flags & NLM_F_DUMP))
			return 0;
		if (filter_pid && (id >> 32) != filter_pid)
			return 0;
		c.dump = 1;
		if (len > NLMSG_HDRLEN)
			bpf_probe_read_user(&c.subj.family, 1, (void *)(buf + NLMSG_HDRLEN));
	}
	struct net *net = sock_net(sk);
	read_counters(net, c.before);
	if (!c.dump)
		request_subject(&c, net);
	c.ts = bpf_ktime_get_ns();
	__u32 tid = (__u32)id;
	bpf_map_update_elem(&calls, &tid, &c, BPF_ANY);
	return 0;
}

/* The rtnetlink socket a receive is on, if the process is watched: every
 * receive on the machine comes here, so this is all most of them pay. */
static __always_inline struct sock *recv_sock(struct sys_enter_ctx *ctx)
{
	if (filter_pid && (bpf_get_current_pid_tgid() >> 32) != filter_pid)
		return 0;
	return rtnl_sock(ctx->args[0]);
}

static __always_inline int recv_enter(struct sys_enter_ctx *ctx, struct sock *sk, __u64 buf, __u64 len, __u64 flags)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct call c = {.sk = (__u64)sk, .buf = buf, .len = len, .nr = ctx->nr, .kind = CALL_RECV,
			 .peek = (flags & MSG_PEEK) != 0};
	/* For the chunk this call may build (snapshot). */
	read_counters(sock_net(sk), c.before);
	c.ts = bpf_ktime_get_ns();
	__u32 tid = (__u32)id;
	bpf_map_update_elem(&calls, &tid, &c, BPF_ANY);
	return 0;
}

/* A dump request was sent: its first chunk is built already. */
static __always_inline void dump_started(struct call *c, long ret)
{
	struct sock *sk = (struct sock *)c->sk;
	bpf_map_update_elem(&dumps, &c->sk, &empty_dump, BPF_ANY);
	struct dump_state *st = bpf_map_lookup_elem(&dumps, &c->sk);
	if (!st || ret < 0)
		return;
	st->req_seq = c->req.seq;
	st->portid = BPF_CORE_READ((struct netlink_sock *)sk, portid);
	st->msg_type = c->req.type;
	st->family = c->subj.family;
	st->active = 1;
	note_built(st, sk, c);
}

static __always_inline void chunk_read(struct call *c, struct dump_state *st, struct nlhdr_user *h, long ret, bool last)
{
	struct chunk_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	struct sock *sk = (struct sock *)c->sk;
	__u32 j = st->read;
	e->type = EVENT_CHUNK;
	__u64 id = bpf_get_current_pid_tgid();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->portid = BPF_CORE_READ((struct netlink_sock *)sk, portid);
	e->netns = net_inode(sock_net(sk));
	e->req_seq = h->seq;
	e->msg_type = st->msg_type;
	e->first_flags = h->flags;
	bpf_get_current_comm(e->comm, sizeof(e->comm));

	/* The chunk is the j-th datagram queued since the request, counting
	 * the foreign ones read before it. */
	__u32 n = j + st->foreign;
	struct snapshot now;
	struct snapshot *s = &st->snaps[n & (SNAPSHOTS - 1)];
	if (s->chunk != n) {
		/* Not taken (several built in one syscall), or overwritten. */
		snapshot(&now, sk, st, c);
		s = &now;
	}
	e->ts_start = s->start;
	e->ts_end = s->ts;
	e->seq_before = e->seq_after = e->prev_seq_after = s->seq;
	struct snapshot *prev = &st->snaps[(n - 1) & (SNAPSHOTS - 1)];
	if (j > 1 && prev->chunk == n - 1)
		e->prev_seq_before = prev->seq;
	e->dev_base_seq = s->counters[0];
	e->addr_genid4 = s->counters[1];
	e->addr_genid6 = s->counters[2];
	e->nexthop_seq = s->counters[3];

	if (h->type == NLMSG_DONE || h->type == NLMSG_ERROR) {
		/* The fentry backend's sample of the last, empty call. */
		e->done = 1;
		e->done_flagged = (h->flags & NLM_F_DUMP_INTR) != 0;
	} else {
		e->bytes = ret;
		e->flagged = (h->flags & NLM_F_DUMP_INTR) != 0;
		e->done = last;
	}
	submit(e);
}

static __always_inline void recv_exit(struct call *c, long ret)
{
	struct dump_state *st = bpf_map_lookup_elem(&dumps, &c->sk);
	if (!st || !st->active)
		return;
	struct sock *sk = (struct sock *)c->sk;
	if (BPF_CORE_READ((struct netlink_sock *)sk, portid) != st->portid) {
		/* Another socket at the address of one closed mid-dump. */
		st->active = 0;
		return;
	}
	if (!c->peek && ret > 0) {
		struct nlhdr_user h = {};
		bool ours = ret >= NLMSG_HDRLEN && c->len >= NLMSG_HDRLEN &&
			    !bpf_probe_read_user(&h, sizeof(h), (void *)c->buf) && h.seq == st->req_seq &&
			    ((h.flags & NLM_F_MULTI) || h.type == NLMSG_DONE || h.type == NLMSG_ERROR);
		if (!ours)
			st->foreign++;
		if (ours) {
			st->read++;
			/* The dump is over once its NLMSG_DONE is built and every
			 * datagram read: the last one may carry it after its data. */
			bool last = h.type == NLMSG_DONE || h.type == NLMSG_ERROR ||
				    (!BPF_CORE_READ((struct netlink_sock *)sk, cb_running) &&
				     !BPF_CORE_READ(sk, sk_receive_queue.qlen));
			chunk_read(c, st, &h, ret, last);
			if (last) {
				st->active = 0;
				return;
			}
		}
	}
	note_built(st, sk, c);
}

static __always_inline void request_done(struct call *c)
{
	__u32 after[4];
	struct net *net = (struct net *)c->net;
	read_counters(net, after);
	for (int i = 0; i < 4; i++) {
		if (c->has_end && (__s32)(c->end[i] - c->before[i]) >= 0 && (__s32)(after[i] - c->end[i]) > 0)
			after[i] = c->end[i];
	}
	if (after[0] == c->before[0] && after[1] == c->before[1] && after[2] == c->before[2] &&
	    after[3] == c->before[3])
		return;
	struct request_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	__u64 id = bpf_get_current_pid_tgid();
	e->type = EVENT_REQUEST;
	e->msg_type = c->req.type;
	e->nl_flags = c->req.flags;
	e->ioctl = c->ioctl;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	e->task_flags = BPF_CORE_READ(task, flags);
	e->ts_enter = c->ts;
	e->ts_exit = bpf_ktime_get_ns();
	e->netns = net_inode(net);
	__builtin_memcpy(e->before, c->before, sizeof(e->before));
	__builtin_memcpy(e->after, after, sizeof(e->after));
	e->waits = c->waits;
	__builtin_memcpy(e->waited_from, c->waited_from, sizeof(e->waited_from));
	__builtin_memcpy(e->waited_to, c->waited_to, sizeof(e->waited_to));
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->ifindex = c->subj.ifindex;
	e->family = c->subj.family;
	e->prefixlen = c->subj.prefixlen;
	e->has_addr = c->subj.has_addr;
	e->dev_state = c->subj.dev_state;
	__builtin_memcpy(e->addr, c->subj.addr, sizeof(e->addr));
	__builtin_memcpy(e->ifname, c->subj.ifname, sizeof(e->ifname));
	submit(e);
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int tp_enter_sendmsg(struct sys_enter_ctx *ctx)
{
	__u64 buf, len;
	struct sock *sk = rtnl_sock(ctx->args[0]);
	if (!sk || msghdr_buf(ctx->args[1], &buf, &len))
		return 0;
	return send_enter(ctx, sk, buf, len);
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int tp_enter_sendto(struct sys_enter_ctx *ctx)
{
	struct sock *sk = rtnl_sock(ctx->args[0]);
	if (!sk)
		return 0;
	return send_enter(ctx, sk, ctx->args[1], ctx->args[2]);
}

/* write(2) on an rtnetlink socket sends one message as sendto does:
 * busybox's ip sends every request so. */
SEC("tracepoint/syscalls/sys_enter_write")
int tp_enter_write(struct sys_enter_ctx *ctx)
{
	struct sock *sk = rtnl_sock(ctx->args[0]);
	if (!sk)
		return 0;
	return send_enter(ctx, sk, ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_recvmsg")
int tp_enter_recvmsg(struct sys_enter_ctx *ctx)
{
	struct sock *sk = recv_sock(ctx);
	if (!sk)
		return 0;
	__u64 buf = 0, len = 0;
	/* A msghdr that cannot be read still counts the chunks built. */
	msghdr_buf(ctx->args[1], &buf, &len);
	return recv_enter(ctx, sk, buf, len, ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_recvfrom")
int tp_enter_recvfrom(struct sys_enter_ctx *ctx)
{
	struct sock *sk = recv_sock(ctx);
	if (!sk)
		return 0;
	return recv_enter(ctx, sk, ctx->args[1], ctx->args[2], ctx->args[3]);
}

/* The legacy ioctls that register, unregister or bring up devices, or
 * change their IPv4 addresses (ifconfig, brctl, tun devices); the others
 * leave every counter alone, and ioctls are common. */
static __always_inline bool changing_ioctl(__u32 cmd)
{
	switch (cmd) {
	case 0x8914: /* SIOCSIFFLAGS */
	case 0x8916: /* SIOCSIFADDR */
	case 0x891c: /* SIOCSIFNETMASK */
	case 0x8936: /* SIOCDIFADDR */
	case 0x89a0: /* SIOCBRADDBR */
	case 0x89a1: /* SIOCBRDELBR */
	case 0x400454ca: /* TUNSETIFF */
		return true;
	}
	return false;
}

SEC("tracepoint/syscalls/sys_enter_ioctl")
int tp_enter_ioctl(struct sys_enter_ctx *ctx)
{
	__u32 cmd = ctx->args[1];
	if (!changing_ioctl(cmd))
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct net *net = BPF_CORE_READ(task, nsproxy, net_ns);
	if (filter_netns && net_inode(net) != filter_netns)
		return 0;
	struct call c = {.net = (__u64)net, .ioctl = cmd, .nr = ctx->nr, .kind = CALL_IOCTL, .ts = bpf_ktime_get_ns()};
	read_counters(net, c.before);
	/* struct ifreq starts with the device's name; the bridge ioctls pass
	 * the name itself. */
	bpf_probe_read_user_str(c.subj.ifname, sizeof(c.subj.ifname), (void *)ctx->args[2]);
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&calls, &tid, &c, BPF_ANY);
	return 0;
}

/* One program for every exit, attached to each sys_exit_<name> (the
 * section only makes it a tracepoint program): the call recorded at
 * entry says what to do. */
SEC("tracepoint/syscalls/sys_exit")
int tp_exit(struct sys_exit_ctx *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct call *c = bpf_map_lookup_elem(&calls, &tid);
	if (!c)
		return 0;
	struct call copy = *c;
	bpf_map_delete_elem(&calls, &tid);
	if (copy.nr != ctx->nr)
		return 0;
	if (copy.kind == CALL_RECV)
		recv_exit(&copy, ctx->ret);
	else if (copy.dump)
		dump_started(&copy, ctx->ret);
	else
		request_done(&copy);
	return 0;
}

/* Whether the call is a change: a request or an ioctl. */
static __always_inline bool changes(struct call *c)
{
	return c && ((c->kind == CALL_SEND && !c->dump) || c->kind == CALL_IOCTL);
}

/* A change about to wait for a mutex. While it waits it bumps nothing:
 * the bumps meanwhile are another's. When the holder is a change traced
 * too, its window will end where this one gets the mutex. The kernel
 * reports a wait more than once (spinning, then sleeping, then each
 * wake-up): the first counts. */
SEC("tracepoint/lock/contention_begin")
int tp_lock_wait(struct contention_begin_ctx *ctx)
{
	if (!(ctx->flags & LCB_F_MUTEX))
		return 0;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct call *c = bpf_map_lookup_elem(&calls, &tid);
	if (!changes(c) || c->lock == ctx->lock)
		return 0;
	c->lock = ctx->lock;
	c->owner = 0;
	c->wait_ts = bpf_ktime_get_ns();
	read_counters((struct net *)c->net, c->wait_from);
	struct mutex *m = (struct mutex *)ctx->lock;
	if (!bpf_core_field_exists(m->owner))
		return 0;
	struct task_struct *owner = (struct task_struct *)(BPF_CORE_READ(m, owner.counter) & ~MUTEX_FLAGS);
	__u32 otid = BPF_CORE_READ(owner, pid);
	struct call *oc = bpf_map_lookup_elem(&calls, &otid);
	if (changes(oc)) {
		c->owner = otid;
		c->owner_ts = oc->ts;
	}
	return 0;
}

/* It got the mutex: the previous holder's bumps are all in, and those
 * made while it waited were not its own. */
SEC("tracepoint/lock/contention_end")
int tp_lock_got(struct contention_end_ctx *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct call *c = bpf_map_lookup_elem(&calls, &tid);
	if (!c || !c->lock || c->lock != ctx->lock)
		return 0;
	c->lock = 0;
	if (ctx->ret)
		return 0;
	/* The holder it waited on, unless another change took the mutex
	 * meanwhile; none when neither was traced. */
	__u32 prev = c->owner;
	__u64 prev_ts = c->owner_ts;
	__u64 lock = ctx->lock;
	struct holder *h = bpf_map_lookup_elem(&holders, &lock);
	if (h && h->taken > c->wait_ts) {
		prev = h->tid;
		prev_ts = h->call_ts;
	}
	struct call *pc = prev ? bpf_map_lookup_elem(&calls, &prev) : 0;
	if (pc && pc->ts == prev_ts && !pc->has_end) {
		read_counters((struct net *)pc->net, pc->end);
		pc->has_end = 1;
	}
	__u8 n = c->waits;
	if (n < WAITS) {
		__builtin_memcpy(c->waited_from[n], c->wait_from, sizeof(c->wait_from));
		read_counters((struct net *)c->net, c->waited_to[n]);
		c->waits = n + 1;
	}
	struct holder me = {.taken = bpf_ktime_get_ns(), .call_ts = c->ts, .tid = tid};
	bpf_map_update_elem(&holders, &lock, &me, BPF_ANY);
	return 0;
}
