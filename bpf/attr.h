/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The attributes of an rtnetlink message, for the tracepoint backend's
 * programs: a request in user memory (bpf/syscall.c), a notification in
 * kernel memory (bpf/ready.c).
 */
#ifndef NLTRACE_ATTR_H
#define NLTRACE_ATTR_H

struct rtattr_raw {
	__u16 len;
	__u16 type;
};

/* The address of the value of the first of the attributes (want, or else
 * or_else) among the first max of a message's attributes, from off to end,
 * in user or kernel memory; returns the type found, or 0. */
static __always_inline __u16 find_attr(__u64 off, __u64 end, __u16 want, __u16 or_else, __u64 *value, int max,
				       bool user)
{
	__u16 found = 0;
	for (int i = 0; i < max; i++) {
		struct rtattr_raw a;
		if (off + sizeof(a) > end)
			break;
		long err = user ? bpf_probe_read_user(&a, sizeof(a), (void *)off)
				: bpf_probe_read_kernel(&a, sizeof(a), (void *)off);
		if (err || a.len < sizeof(a))
			break;
		if (a.type == want) {
			*value = off + sizeof(a);
			return want;
		}
		if (a.type == or_else && !found) {
			*value = off + sizeof(a);
			found = or_else;
		}
		off += (a.len + 3) & ~3;
	}
	return found;
}

#endif
