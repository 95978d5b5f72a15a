/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The few kernel types nltrace reads, declared by hand instead of a
 * generated vmlinux.h so that the objects build from this repository alone.
 * Every struct is preserve_access_index: libbpf-style CO-RE relocations
 * resolve each field against the running kernel's BTF at load time, so
 * only the names matter here, never the layout or the member order.
 */
#ifndef NLTRACE_KERNEL_H
#define NLTRACE_KERNEL_H

/* bpf_tracing.h then names pt_regs fields as the kernel does (di, si...). */
#define __VMLINUX_H__

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef _Bool bool;
#define true 1
#define false 0

/* From include/uapi/linux/bpf.h: stable ABI values. */
enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_STACK_TRACE = 7,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_RINGBUF = 27,
};
enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
};
enum {
	BPF_RB_NO_WAKEUP = 1,
	BPF_RB_FORCE_WAKEUP = 2,
};
enum {
	BPF_RB_AVAIL_DATA = 0,
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

/* What bpf_tracing.h reads a kprobe's arguments from, per architecture
 * (bpf2go defines __TARGET_ARCH_*; kprobe programs need one). */
#if defined(__TARGET_ARCH_x86)
struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
	unsigned long ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
};
#elif defined(__TARGET_ARCH_arm64)
struct pt_regs;
struct user_pt_regs {
	__u64 regs[31];
	__u64 sp;
	__u64 pc;
	__u64 pstate;
};
#endif

struct ns_common {
	unsigned int inum;
};

typedef struct {
	int counter;
} atomic_t;

struct netns_ipv4 {
	atomic_t dev_addr_genid;
};

struct netns_ipv6 {
	atomic_t dev_addr_genid;
};

struct netns_nexthop {
	unsigned int seq;
};

struct hlist_node {
	struct hlist_node *next;
};

struct hlist_head {
	struct hlist_node *first;
};

struct net {
	unsigned int dev_base_seq;
	struct hlist_head *dev_index_head;
	struct ns_common ns;
	struct netns_ipv4 ipv4;
	struct netns_ipv6 ipv6; /* absent without CONFIG_IPV6 */
	struct netns_nexthop nexthop; /* absent before 5.3 */
};

typedef struct {
	struct net *net;
} possible_net_t;

struct sock_common {
	unsigned short skc_family;
	possible_net_t skc_net;
};

struct sk_buff;

/* next and prev sit in an anonymous struct and union since 5.x: CO-RE
 * finds fields through anonymous members by name. */
struct sk_buff_head {
	struct sk_buff *next;
	struct sk_buff *prev;
	__u32 qlen;
};

struct sock {
	struct sock_common __sk_common;
	__u16 sk_protocol; /* a bitfield before 5.6: read it with BPF_CORE_READ_BITFIELD_PROBED */
	struct sk_buff_head sk_receive_queue;
};

struct nlmsghdr {
	__u32 nlmsg_len;
	__u16 nlmsg_type;
	__u16 nlmsg_flags;
	__u32 nlmsg_seq;
	__u32 nlmsg_pid;
};

struct sk_buff {
	struct sock *sk;
	unsigned int len;
	unsigned char *data;
};

struct netlink_callback {
	struct sk_buff *skb;
	const struct nlmsghdr *nlh;
	void *dump;
	void *data;
	unsigned int prev_seq;
	unsigned int seq;
};

struct netlink_sock {
	struct sock sk;
	u32 portid;
	bool cb_running;
	int dump_done_errno;
	struct netlink_callback cb;
};

/* From a task's file descriptor to its socket (the tracepoint backend). */
struct inode {
	unsigned short i_mode;
};

struct file {
	struct inode *f_inode;
	void *private_data; /* struct socket * for a socket */
};

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
};

struct files_struct {
	struct fdtable *fdt;
};

struct socket {
	struct sock *sk;
};

struct in_device;
struct inet6_dev;

struct net_device {
	char name[16];
	int ifindex;
	unsigned int flags; /* IFF_* */
	struct hlist_node index_hlist;
	possible_net_t nd_net;
	struct in_device *ip_ptr;
	struct inet6_dev *ip6_ptr;
};

struct list_head {
	struct list_head *next;
};

struct netdev_notifier_info {
	struct net_device *dev;
};

struct in_ifaddr;

struct in_device {
	struct net_device *dev;
	struct in_ifaddr *ifa_list;
};

struct in_ifaddr {
	struct in_device *ifa_dev;
	__be32 ifa_local;
	unsigned char ifa_prefixlen;
};

struct in6_addr {
	union {
		__u8 u6_addr8[16];
	} in6_u;
};

struct inet6_dev {
	struct net_device *dev;
	struct list_head addr_list;
};

struct inet6_ifaddr {
	struct in6_addr addr;
	__u32 prefix_len;
	struct inet6_dev *idev;
};

/* arm64 (THREAD_INFO_IN_TASK) keeps the preempt count here; x86's
 * thread_info has no such field. On arm64 it is a u64 whose low half, first
 * in little-endian memory, is the count. */
struct thread_info {
	__u64 preempt_count;
};

struct nsproxy {
	struct net *net_ns;
};

struct task_struct {
	struct thread_info thread_info;
	unsigned int flags;
	int pid; /* the thread's id */
	struct files_struct *files;
	struct nsproxy *nsproxy;
};

typedef struct {
	long counter;
} atomic_long_t;

/* Absent on PREEMPT_RT, where a mutex is an rt_mutex. */
struct mutex {
	atomic_long_t owner; /* struct task_struct *, flags in the low bits */
};

/* x86 6.2 to 6.14: the per-CPU preempt count lives in pcpu_hot. */
struct pcpu_hot {
	int preempt_count;
};

#pragma clang attribute pop

#endif
