package watch

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/correlate"
	"github.com/nltrace/nltrace/probe"
)

// Kinds lists the names a dump's kind can have: the tables nltrace dumps,
// and AF_UNSPEC address and route dumps (ip addr show), which walk every
// family in turn.
var Kinds = []string{"link", "addr4", "addr6", "addr", "route4", "route6", "route", "neigh", "nexthop", "stats"}

// kindOf names the table a chunk's dump lists.
func kindOf(s *probe.Sample) string {
	if k := correlate.KindOf(s); k != 0 {
		return k.String()
	}
	switch s.MsgType {
	case unix.RTM_GETADDR:
		return "addr"
	case unix.RTM_GETROUTE:
		return "route"
	}
	return fmt.Sprintf("type%d", s.MsgType)
}

// ParseKinds accepts kind names, comma-separated or repeated, or "all"
// (nil: every kind).
func ParseKinds(list []string) ([]string, error) {
	var out []string
	for _, item := range list {
		for _, k := range strings.Split(item, ",") {
			k = strings.ToLower(strings.TrimSpace(k))
			switch {
			case k == "all":
				return nil, nil
			case !slices.Contains(Kinds, k):
				return nil, fmt.Errorf("unknown dump kind %q (want one of %s, or all)", k, strings.Join(Kinds, ", "))
			case !slices.Contains(out, k):
				out = append(out, k)
			}
		}
	}
	return out, nil
}
