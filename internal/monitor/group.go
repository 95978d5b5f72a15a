package monitor

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/nlclient"
)

// Kinds lists every kind the monitor can subscribe to, in nlclient's
// order: every dumpable table but link statistics, which the kernel does
// not announce.
var Kinds = []nlclient.Kind{nlclient.Link, nlclient.Addr4, nlclient.Addr6, nlclient.Route4, nlclient.Route6, nlclient.Neigh, nlclient.Nexthop}

// groups is the rtnetlink multicast group of each kind.
var groups = map[nlclient.Kind]uint32{
	nlclient.Link:    unix.RTNLGRP_LINK,
	nlclient.Addr4:   unix.RTNLGRP_IPV4_IFADDR,
	nlclient.Addr6:   unix.RTNLGRP_IPV6_IFADDR,
	nlclient.Route4:  unix.RTNLGRP_IPV4_ROUTE,
	nlclient.Route6:  unix.RTNLGRP_IPV6_ROUTE,
	nlclient.Neigh:   unix.RTNLGRP_NEIGH,
	nlclient.Nexthop: unix.RTNLGRP_NEXTHOP,
}

// ParseKinds reads kind names as nlclient.ParseKinds does; "all" means
// every kind in Kinds, and a kind that has no notifications is refused.
func ParseKinds(list []string) ([]nlclient.Kind, error) {
	for _, item := range list {
		for _, s := range strings.Split(item, ",") {
			if strings.EqualFold(strings.TrimSpace(s), "all") {
				return Kinds, nil
			}
		}
	}
	kinds, err := nlclient.ParseKinds(list)
	if err != nil {
		return nil, err
	}
	return kinds, checkKinds(kinds)
}

func checkKinds(kinds []nlclient.Kind) error {
	for _, k := range kinds {
		if _, ok := groups[k]; !ok {
			return fmt.Errorf("the kernel sends no notifications for %v (want %s, or all)", k, kindList())
		}
	}
	return nil
}

func kindList() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = k.String()
	}
	return strings.Join(names, ", ")
}

// kindOf names the kind of a notification from its type and its header's
// address family; 0 for a message no kind describes.
func kindOf(typ uint16, family uint8) nlclient.Kind {
	switch typ {
	case unix.RTM_NEWLINK, unix.RTM_DELLINK:
		return nlclient.Link
	case unix.RTM_NEWADDR, unix.RTM_DELADDR:
		return byFamily(family, nlclient.Addr4, nlclient.Addr6)
	case unix.RTM_NEWROUTE, unix.RTM_DELROUTE:
		return byFamily(family, nlclient.Route4, nlclient.Route6)
	case unix.RTM_NEWNEIGH, unix.RTM_DELNEIGH:
		return nlclient.Neigh
	case unix.RTM_NEWNEXTHOP, unix.RTM_DELNEXTHOP:
		return nlclient.Nexthop
	}
	return 0
}

func byFamily(family uint8, v4, v6 nlclient.Kind) nlclient.Kind {
	switch family {
	case unix.AF_INET:
		return v4
	case unix.AF_INET6:
		return v6
	}
	return 0
}
