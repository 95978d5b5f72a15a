package monitor

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/nltrace/nltrace/nlclient"
)

// Action is what an Event reports.
type Action string

const (
	New     Action = "new"     // RTM_NEW*: an object added, or (not links) updated
	Del     Action = "del"     // RTM_DEL*: an object removed
	Changed Action = "changed" // RTM_NEWLINK about a link that already existed
	Overrun Action = "overrun" // notifications were lost: Lost says how many
	Resync  Action = "resync"  // a table dumped again after an overrun: Objects says how many it holds
)

// NSIDCurrent is the NetNSID of events from the monitored namespace itself.
const NSIDCurrent = -1

// TimeLayout is RFC 3339 with microseconds, as lines print Time.
const TimeLayout = "2006-01-02T15:04:05.000000Z07:00"

// Event is one notification, or one overrun or resync. The JSON field
// names are stable; docs/monitor.md describes them.
type Event struct {
	// Time is when the notification was read (local time); MonoNS the
	// same instant on CLOCK_MONOTONIC, the clock of BPF's ktime.
	Time   time.Time     `json:"time"`
	MonoNS int64         `json:"mono_ns"`
	Kind   nlclient.Kind `json:"kind,omitempty"`
	Action Action        `json:"action"`
	// NetNSID is the id, in the monitored namespace, of the namespace the
	// event comes from: NSIDCurrent for the monitored one. NetNS is that
	// namespace's name under /run/netns, where one binds it.
	NetNSID int32  `json:"nsid"`
	NetNS   string `json:"netns,omitempty"`
	// Ifindex and Ifname are the device: the link itself, the address's,
	// the route's or nexthop's output device, the neighbour's.
	Ifindex int32  `json:"ifindex,omitempty"`
	Ifname  string `json:"ifname,omitempty"`
	// Prefix is the address with its prefix length, the route's
	// destination, or the neighbour's address (full length).
	Prefix netip.Prefix `json:"prefix,omitzero"`
	Table  uint32       `json:"table,omitempty"` // routes
	ID     uint32       `json:"id,omitempty"`    // nexthops
	// State holds a link's flags among UP (or DOWN), RUNNING, LOWER_UP.
	State []string `json:"state,omitempty"`
	// Details is the rest, as text: mtu, scope, gateway, protocol,
	// link-layer address, neighbour state.
	Details string `json:"details,omitempty"`
	// PortID is the netlink port id of the socket whose request caused
	// the change (0: none carried). PID and Comm name its process when it
	// was found; Unresolved says why it was not ("process gone").
	PortID     uint32 `json:"port_id,omitempty"`
	PID        int    `json:"pid,omitempty"`
	Comm       string `json:"comm,omitempty"`
	Unresolved string `json:"unresolved,omitempty"`
	// Lost counts the notifications an overrun lost (-1: unknown).
	Lost int64 `json:"lost,omitempty"`
	// Objects counts what a resync dump found.
	Objects int `json:"objects,omitempty"`
}

// String is the event as one line:
//
//	2026-11-28T23:10:01.123456Z link new veth0 index 12 state UP RUNNING by ip[4242]
func (e Event) String() string {
	var b strings.Builder
	b.WriteString(e.Time.Format(TimeLayout))
	if e.NetNSID != NSIDCurrent {
		fmt.Fprintf(&b, " [nsid %d", e.NetNSID)
		if e.NetNS != "" {
			b.WriteString(" " + e.NetNS)
		}
		b.WriteString("]")
	}
	switch e.Action {
	case Overrun:
		if e.Lost < 0 {
			b.WriteString(" overrun: events lost (the count is unavailable), resyncing")
		} else {
			fmt.Fprintf(&b, " overrun: %d events lost, resyncing", e.Lost)
		}
		return b.String()
	case Resync:
		fmt.Fprintf(&b, " resync %v %d objects", e.Kind, e.Objects)
		return b.String()
	}
	fmt.Fprintf(&b, " %v %s %s", e.Kind, e.Action, e.object())
	if e.Kind != nlclient.Link && e.Ifindex != 0 {
		b.WriteString(" dev " + e.device())
	}
	if len(e.State) > 0 {
		b.WriteString(" state " + strings.Join(e.State, " "))
	}
	if e.Details != "" {
		b.WriteString(" " + e.Details)
	}
	if w := e.Writer(); w != "" {
		b.WriteString(" by " + w)
	}
	return b.String()
}

func (e Event) object() string {
	switch {
	case e.Kind == nlclient.Link:
		return fmt.Sprintf("%s index %d", e.device(), e.Ifindex)
	case e.Kind == nlclient.Nexthop:
		return fmt.Sprintf("id %d", e.ID)
	case e.Kind == nlclient.Neigh && e.Prefix.IsValid():
		return e.Prefix.Addr().String()
	case e.Prefix.IsValid():
		return e.Prefix.String()
	}
	return "?"
}

// device is the device's name, or ifN when it is unknown, as ip(8) says.
func (e Event) device() string {
	if e.Ifname != "" {
		return e.Ifname
	}
	return fmt.Sprintf("if%d", e.Ifindex)
}

// Writer names the process that asked for the change: "ip[4242]",
// "port 1234 (process gone)", or "" when the notification carries no port
// id.
func (e Event) Writer() string {
	switch {
	case e.PortID == 0:
		return ""
	case e.PID != 0:
		return fmt.Sprintf("%s[%d]", e.Comm, e.PID)
	case e.Unresolved != "":
		return fmt.Sprintf("port %d (%s)", e.PortID, e.Unresolved)
	}
	return fmt.Sprintf("port %d", e.PortID)
}
