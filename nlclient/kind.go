package nlclient

import (
	"encoding/binary"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Kind is a table that can be dumped.
type Kind int

const (
	Link Kind = iota + 1
	Addr4
	Addr6
	Route4
	Route6
	Neigh
	Nexthop
	Stats
)

// Kinds lists every kind, in the order reports print them.
var Kinds = []Kind{Link, Addr4, Addr6, Route4, Route6, Neigh, Nexthop, Stats}

var kindNames = map[Kind]string{
	Link: "link", Addr4: "addr4", Addr6: "addr6", Route4: "route4",
	Route6: "route6", Neigh: "neigh", Nexthop: "nexthop", Stats: "stats",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// MarshalText makes kinds readable in JSON.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a kind's name.
func (k *Kind) UnmarshalText(b []byte) error {
	v, err := ParseKind(string(b))
	*k = v
	return err
}

// ParseKind accepts a kind's name.
func ParseKind(s string) (Kind, error) {
	for k, name := range kindNames {
		if strings.EqualFold(s, name) {
			return k, nil
		}
	}
	return 0, fmt.Errorf("unknown dump kind %q (want one of %s, or all)", s, kindList())
}

// ParseKinds accepts a comma-separated list of names, or "all".
func ParseKinds(list []string) ([]Kind, error) {
	var kinds []Kind
	seen := map[Kind]bool{}
	for _, item := range list {
		for _, s := range strings.Split(item, ",") {
			s = strings.TrimSpace(s)
			if strings.EqualFold(s, "all") {
				return Kinds, nil
			}
			k, err := ParseKind(s)
			if err != nil {
				return nil, err
			}
			if !seen[k] {
				seen[k] = true
				kinds = append(kinds, k)
			}
		}
	}
	if len(kinds) == 0 {
		return nil, fmt.Errorf("no dump kind given (want one of %s, or all)", kindList())
	}
	return kinds, nil
}

func kindList() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = k.String()
	}
	return strings.Join(names, ", ")
}

// request returns the message type and the fixed header of the kind's dump
// request.
func (k Kind) request() (uint16, []byte, error) {
	switch k {
	case Link:
		return unix.RTM_GETLINK, make([]byte, unix.SizeofIfInfomsg), nil
	case Addr4, Addr6:
		b := make([]byte, unix.SizeofIfAddrmsg)
		b[0] = k.family()
		return unix.RTM_GETADDR, b, nil
	case Route4, Route6:
		b := make([]byte, unix.SizeofRtMsg)
		b[0] = k.family()
		return unix.RTM_GETROUTE, b, nil
	case Neigh:
		return unix.RTM_GETNEIGH, make([]byte, unix.SizeofNdMsg), nil
	case Nexthop:
		return unix.RTM_GETNEXTHOP, make([]byte, sizeofNhmsg), nil
	case Stats:
		b := make([]byte, sizeofIfStatsMsg)
		// Ask for the smallest stats group, the 64-bit link counters.
		binary.NativeEndian.PutUint32(b[8:], 1<<(unix.IFLA_STATS_LINK_64-1))
		return unix.RTM_GETSTATS, b, nil
	}
	return 0, nil, fmt.Errorf("no dump request for %v", k)
}

// reply is the message type a dump of the kind answers with.
func (k Kind) reply() uint16 {
	switch k {
	case Link:
		return unix.RTM_NEWLINK
	case Addr4, Addr6:
		return unix.RTM_NEWADDR
	case Route4, Route6:
		return unix.RTM_NEWROUTE
	case Neigh:
		return unix.RTM_NEWNEIGH
	case Nexthop:
		return unix.RTM_NEWNEXTHOP
	case Stats:
		return unix.RTM_NEWSTATS
	}
	return 0
}

func (k Kind) family() uint8 {
	switch k {
	case Addr4, Route4:
		return unix.AF_INET
	case Addr6, Route6:
		return unix.AF_INET6
	}
	return unix.AF_UNSPEC
}

const (
	sizeofNhmsg      = 8
	sizeofIfStatsMsg = 12
)
