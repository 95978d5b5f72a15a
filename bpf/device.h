/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A network device found by its index, for the tracepoint backend's
 * programs: a request or a notification names a device by index only.
 */
#ifndef NLTRACE_DEVICE_H
#define NLTRACE_DEVICE_H

/* net->dev_index_head has NETDEV_HASHENTRIES buckets; a few devices share
 * each in a namespace of a thousand. */
#define NETDEV_HASHENTRIES 256
#define MAX_BUCKET_WALK 16

/* The device with this index in net, from its index hash (every kernel
 * has it; 6.6+ also keep an xarray); 0 when there is none. */
static __always_inline struct net_device *device_by_index(struct net *net, int ifindex)
{
	struct hlist_head *heads = BPF_CORE_READ(net, dev_index_head);
	struct hlist_node *node = 0;
	if (!heads || bpf_core_read(&node, sizeof(node), &heads[ifindex & (NETDEV_HASHENTRIES - 1)].first))
		return 0;
	for (int i = 0; i < MAX_BUCKET_WALK && node; i++) {
		struct net_device *dev = (void *)node - bpf_core_field_offset(struct net_device, index_hlist);
		if (BPF_CORE_READ(dev, ifindex) == ifindex)
			return dev;
		node = BPF_CORE_READ(node, next);
	}
	return 0;
}

#endif
