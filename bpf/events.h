/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Events the probe sends to userspace through one ring buffer. Go gets
 * its mirrors of these structs from bpf2go (-type), never by hand. Every
 * event starts with its type so the reader can tell them apart.
 */
#ifndef NLTRACE_EVENTS_H
#define NLTRACE_EVENTS_H

enum event_type {
	EVENT_CHUNK = 1,
	EVENT_WRITER = 2,
	EVENT_REQUEST = 3,
	EVENT_NOTICE = 4,
};

/* One call of a dump handler: one chunk (datagram) of one dump. */
struct chunk_event {
	__u8 type;
	__u8 flagged;      /* the chunk's first header carries NLM_F_DUMP_INTR */
	__u8 done_flagged; /* the NLMSG_DONE that follows will carry it */
	__u8 lost;         /* the counter moved but no message carries the flag */
	__u8 done;         /* the handler finished: NLMSG_DONE follows */
	__u8 pad[3];
	__u16 msg_type;    /* of the request */
	__u16 first_flags; /* nlmsg_flags of the chunk's first header */
	__u32 pid;
	__u32 tid;
	__u32 portid;      /* the requesting socket */
	__u32 req_seq;     /* nlmsg_seq of the request */
	__u64 ts_start;    /* handler entry, CLOCK_MONOTONIC ns */
	__u64 ts_end;      /* handler exit */
	__u64 netns;       /* inode of the socket's network namespace */
	__u64 handler;     /* cb->dump */
	__u64 handler_data; /* cb->data: the real handler behind rtnl_dumpit */
	__u32 prev_seq_before;
	__u32 seq_before;
	__u32 prev_seq_after;
	__u32 seq_after;
	/* The generation counters of the namespace at handler exit. */
	__u32 dev_base_seq;
	__u32 addr_genid4;
	__u32 addr_genid6;
	__u32 nexthop_seq;
	__u32 bytes; /* skb->len at handler exit */
	__s32 ret;   /* the handler's return value */
	char comm[16];
};

enum writer_op {
	OP_REGISTER = 1,   /* list_netdevice outside a namespace move */
	OP_UNREGISTER = 2, /* unlist_netdevice outside a namespace move */
	OP_MOVE_IN = 3,    /* list_netdevice inside __dev_change_net_namespace */
	OP_MOVE_OUT = 4,   /* unlist_netdevice inside __dev_change_net_namespace */
	OP_ADDR4_ADD = 5,  /* fib_inetaddr_event NETDEV_UP */
	OP_ADDR4_DEL = 6,  /* fib_inetaddr_event NETDEV_DOWN */
	OP_LINK_UP = 7,    /* fib_netdev_event NETDEV_UP */
	OP_ADDR6_NEW = 8,  /* __ipv6_ifa_notify RTM_NEWADDR (also DAD, lifetimes) */
	OP_ADDR6_DEL = 9,  /* __ipv6_ifa_notify RTM_DELADDR */
	OP_NEXTHOP_NEW = 10,
	OP_NEXTHOP_DEL = 11,
	OP_NEXTHOP_FLUSH = 12, /* nexthop_flush_dev: a device went away */
};

enum counter_id {
	COUNTER_DEV_BASE_SEQ = 1,
	COUNTER_ADDR_GENID4 = 2,
	COUNTER_ADDR_GENID6 = 3,
	COUNTER_NEXTHOP_SEQ = 4,
};

enum context {
	CONTEXT_UNKNOWN = 0,
	CONTEXT_TASK = 1,    /* process context: the task named caused it */
	CONTEXT_SOFTIRQ = 2, /* the task named was only interrupted */
	CONTEXT_HARDIRQ = 3,
};

/* One call of a function that bumps (or may bump) a generation counter. */
struct writer_event {
	__u8 type;
	__u8 op;      /* enum writer_op */
	__u8 counter; /* enum counter_id */
	__u8 prefixlen;
	__u32 pid;
	__u32 tid;
	__u32 task_flags; /* PF_KWORKER tells worker context */
	__u64 ts;
	__u64 netns;
	__u32 before;  /* the counter before the bump */
	__s32 ifindex;
	__s32 stack_id; /* in the stacks map, or negative */
	__u8 context;   /* enum context */
	__u8 pad[3];
	__u8 addr[16];  /* IPv4 in the first four bytes */
	char ifname[16];
	char comm[16];
};

/* What the device a request names had at its entry: which counters its
 * deletion can move. */
enum dev_state {
	DEV_FOUND = 1,
	DEV_UP = 2,
	DEV_ADDR4 = 4, /* has IPv4 addresses */
	DEV_ADDR6 = 8, /* has IPv6 addresses */
	DEV_SET_UP = 16, /* a link request that brings it up (ifi_flags) */
};

/*
 * One rtnetlink change request (RTM_NEW*, RTM_DEL*, RTM_SET*), or one
 * legacy ioctl that changes devices or addresses, made by a process, seen by the tracepoint backend at the syscall's entry and exit:
 * which counters of the socket's namespace moved while it ran. Only sent
 * when one did.
 */
struct request_event {
	__u8 type;
	__u8 family;    /* ifinfomsg/ifaddrmsg family */
	__u8 prefixlen; /* addresses */
	__u8 has_addr;
	__u16 msg_type; /* RTM_* of the request */
	__u16 nl_flags; /* NLM_F_* of the request */
	__u32 pid;
	__u32 tid;
	__u32 task_flags;
	__s32 ifindex;  /* the request's ifinfomsg/ifaddrmsg index (0: none) */
	__u64 ts_enter; /* CLOCK_MONOTONIC ns */
	__u64 ts_exit;
	__u64 netns;    /* of the socket; the task's for an ioctl */
	/* The namespace's counters at entry and at exit (or when a request
	 * waiting behind this one took RTNL), by enum counter_id - 1. */
	__u32 before[4];
	__u32 after[4];
	/* The counters when it began and ended its first waits for RTNL
	 * behind another request: the bumps in between were another's. */
	__u32 waited_from[2][4];
	__u32 waited_to[2][4];
	__u8 waits;
	__u8 dev_state; /* enum dev_state bits of the device at entry */
	__u8 pad[2];
	__u32 ioctl; /* the ioctl's command instead of a request (msg_type 0) */
	__u8 addr[16]; /* IFA_LOCAL, else IFA_ADDRESS; IPv4 in the first four bytes */
	char ifname[16]; /* the request's IFLA_IFNAME, else its index's device, or the ioctl's ifreq */
	char comm[16];
};

/*
 * One rtnetlink notification (link, address, nexthop) delivered to
 * nltrace's own listening socket, seen by the tracepoint backend where the
 * kernel has the sock:sk_data_ready tracepoint: the kernel sends it from the
 * task that made the change (a kernel worker for its own changes), inside
 * the change, with the namespace's counters as they are at that moment.
 * msg_type 0 is the baseline: the listener's own dump when it opens.
 */
struct notice_event {
	__u8 type;
	__u8 family;
	__u8 prefixlen;
	__u8 has_addr;
	__u16 msg_type; /* RTM_NEWLINK, RTM_DELADDR... */
	__u8 moved;     /* RTM_DELLINK of a device moving to another namespace */
	__u8 pad;
	__u32 pid;
	__u32 tid;
	__u32 task_flags;
	__s32 ifindex;
	__u64 ts;
	__u64 netns;
	__u32 counters[4]; /* by enum counter_id - 1 */
	__u8 addr[16];     /* IFA_LOCAL, else IFA_ADDRESS; IPv4 in the first four bytes */
	char ifname[16];   /* IFLA_IFNAME */
	char comm[16];
};

#endif
