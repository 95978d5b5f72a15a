package nlclient

import (
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

// kindInfo is everything the client knows about one kind: adding a kind is
// adding a row to kindTable.
type kindInfo struct {
	name    string
	request uint16 // the dump request's message type
	reply   uint16 // the type of every message the dump answers with
	// header is the request's fixed header (read only). Replies start with
	// the same structure.
	header []byte
	// decode fills in an Object from a reply whose payload holds at least
	// a header.
	decode func(o *Object, data []byte) error
	// describe names an object's key in reports.
	describe func(k Key) string
	// byDestination: the object is its table and destination, whatever
	// device it goes out of (routes).
	byDestination bool
}

var kindTable = [...]kindInfo{
	Link: {
		name: "link", request: unix.RTM_GETLINK, reply: unix.RTM_NEWLINK,
		header: bytesOf(&unix.IfInfomsg{}),
		decode: decodeLink, describe: describeDevice,
	},
	Addr4: {
		name: "addr4", request: unix.RTM_GETADDR, reply: unix.RTM_NEWADDR,
		header: bytesOf(&unix.IfAddrmsg{Family: unix.AF_INET}),
		decode: decodeAddr, describe: describeAddr,
	},
	Addr6: {
		name: "addr6", request: unix.RTM_GETADDR, reply: unix.RTM_NEWADDR,
		header: bytesOf(&unix.IfAddrmsg{Family: unix.AF_INET6}),
		decode: decodeAddr, describe: describeAddr,
	},
	Route4: {
		name: "route4", request: unix.RTM_GETROUTE, reply: unix.RTM_NEWROUTE,
		header: bytesOf(&unix.RtMsg{Family: unix.AF_INET}),
		decode: decodeRoute, describe: describeRoute, byDestination: true,
	},
	Route6: {
		name: "route6", request: unix.RTM_GETROUTE, reply: unix.RTM_NEWROUTE,
		header: bytesOf(&unix.RtMsg{Family: unix.AF_INET6}),
		decode: decodeRoute, describe: describeRoute, byDestination: true,
	},
	Neigh: {
		name: "neigh", request: unix.RTM_GETNEIGH, reply: unix.RTM_NEWNEIGH,
		header: bytesOf(&unix.NdMsg{}),
		decode: decodeNeigh, describe: describeAddr,
	},
	Nexthop: {
		name: "nexthop", request: unix.RTM_GETNEXTHOP, reply: unix.RTM_NEWNEXTHOP,
		header: bytesOf(&unix.Nhmsg{}),
		decode: decodeNexthop, describe: describeNexthop,
	},
	Stats: {
		name: "stats", request: unix.RTM_GETSTATS, reply: unix.RTM_NEWSTATS,
		// The kernel refuses a stats dump without a filter; the smallest
		// group, the 64-bit link counters, keeps the messages small.
		header: bytesOf(&ifStatsMsg{FilterMask: 1 << (unix.IFLA_STATS_LINK_64 - 1)}),
		decode: decodeStats, describe: describeDevice,
	},
}

// info returns the kind's row, nil for a value that is no kind.
func (k Kind) info() *kindInfo {
	if k <= 0 || int(k) >= len(kindTable) {
		return nil
	}
	return &kindTable[k]
}

func (k Kind) String() string {
	if i := k.info(); i != nil {
		return i.name
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
	for _, k := range Kinds {
		if strings.EqualFold(s, k.String()) {
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
	i := k.info()
	if i == nil {
		return 0, nil, fmt.Errorf("no dump request for %v", k)
	}
	return i.request, i.header, nil
}
