package monitor

import (
	"bufio"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/nlclient"
)

// fixedTime is the time recorded events are printed with.
var fixedTime = time.Date(2026, 11, 28, 23, 10, 1, 123456789, time.UTC)

// TestRecordedNotifications decodes datagrams the kernel sent and checks
// the line each prints (testdata/notifications.txt).
func TestRecordedNotifications(t *testing.T) {
	f, err := os.Open("testdata/notifications.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	lines.Buffer(nil, 1<<20)
	var got []string // lines of the last datagram not yet matched
	datagrams := 0
	for n := 1; lines.Scan(); n++ {
		text := lines.Text()
		switch {
		case strings.HasPrefix(text, "msg "):
			if len(got) > 0 {
				t.Errorf("line %d: unchecked events %q", n, got)
			}
			got = decodeHex(t, n, text[4:])
			datagrams++
		case strings.HasPrefix(text, "want "):
			if len(got) == 0 {
				t.Errorf("line %d: want %q, no event left", n, text[5:])
				continue
			}
			if want := text[5:]; got[0] != want {
				t.Errorf("line %d:\n got %s\nwant %s", n, got[0], want)
			}
			got = got[1:]
		}
	}
	if datagrams < 30 {
		t.Errorf("only %d datagrams recorded", datagrams)
	}
}

// decodeHex parses one datagram into its events' lines, without the time.
func decodeHex(t *testing.T, n int, s string) []string {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("line %d: %v", n, err)
	}
	msgs, err := split(b)
	if err != nil {
		t.Fatalf("line %d: %v", n, err)
	}
	var lines []string
	for _, m := range msgs {
		e, ok, err := parse(m)
		if err != nil || !ok {
			t.Fatalf("line %d: ok %v, error %v", n, ok, err)
		}
		e.Time = fixedTime
		lines = append(lines, strings.TrimPrefix(e.String(), fixedTime.Format(TimeLayout)+" "))
	}
	return lines
}

func TestMalformedNotifications(t *testing.T) {
	hdr := func(typ uint16, payload ...byte) []byte {
		b := make([]byte, unix.SizeofNlMsghdr, unix.SizeofNlMsghdr+len(payload))
		*(*uint32)(unsafePointer(b)) = uint32(unix.SizeofNlMsghdr + len(payload))
		b[4], b[5] = byte(typ), byte(typ>>8)
		return append(b, payload...)
	}
	for _, tc := range []struct {
		name  string
		b     []byte
		split string // part of split's error
		parse string // part of parse's error
	}{
		{"short header", []byte{1, 2, 3}, "shorter than a netlink header", ""},
		{"length past the end", append(hdr(unix.RTM_NEWLINK), 0)[:unix.SizeofNlMsghdr-1], "shorter than a netlink header", ""},
		{"short link header", hdr(unix.RTM_NEWLINK, 0, 0, 0, 0), "", "shorter than its 16-byte header"},
		{"bad attribute", hdr(unix.RTM_NEWADDR, append([]byte{unix.AF_INET, 24, 0, 0, 1, 0, 0, 0}, 0xff, 0, 1, 0)...), "", "addr4 message"},
	} {
		msgs, err := split(tc.b)
		if tc.split != "" {
			if err == nil || !strings.Contains(err.Error(), tc.split) {
				t.Errorf("%s: split error %v, want %q", tc.name, err, tc.split)
			}
			continue
		}
		if err != nil || len(msgs) != 1 {
			t.Fatalf("%s: split: %v, %d messages", tc.name, err, len(msgs))
		}
		if _, _, err := parse(msgs[0]); err == nil || !strings.Contains(err.Error(), tc.parse) {
			t.Errorf("%s: parse error %v, want %q", tc.name, err, tc.parse)
		}
	}
	// A message of no subscribed kind is skipped, not an error.
	msgs, _ := split(hdr(unix.RTM_NEWNETCONF, unix.AF_INET, 0, 0, 0))
	if _, ok, err := parse(msgs[0]); ok || err != nil {
		t.Errorf("netconf: ok %v, error %v; want skipped", ok, err)
	}
}

func TestEventString(t *testing.T) {
	base := Event{Time: fixedTime, NetNSID: NSIDCurrent}
	with := func(f func(*Event)) Event { e := base; f(&e); return e }
	for _, tc := range []struct {
		e    Event
		want string
	}{
		{with(func(e *Event) {
			e.Kind, e.Action, e.Ifindex, e.Ifname, e.State = nlclient.Link, New, 12, "veth0", []string{"UP", "RUNNING"}
			e.PortID, e.PID, e.Comm = 4242, 4242, "ip"
		}), "link new veth0 index 12 state UP RUNNING by ip[4242]"},
		{with(func(e *Event) {
			e.Kind, e.Action, e.Ifindex, e.Details = nlclient.Addr4, Del, 3, "scope global"
			e.Prefix = mustPrefix("10.0.0.1/24")
			e.PortID, e.Unresolved = 1234, "process gone"
		}), "addr4 del 10.0.0.1/24 dev if3 scope global by port 1234 (process gone)"},
		{with(func(e *Event) {
			e.Kind, e.Action, e.Ifindex, e.Ifname, e.NetNSID, e.NetNS = nlclient.Route6, New, 3, "v0", 2, "blue"
			e.Prefix, e.Details = mustPrefix("fd00::/64"), "table main proto kernel"
		}), "[nsid 2 blue] route6 new fd00::/64 dev v0 table main proto kernel"},
		{with(func(e *Event) {
			e.Kind, e.Action, e.Ifindex, e.Ifname, e.NetNSID = nlclient.Neigh, New, 3, "v0", 0
			e.Prefix, e.Details = mustPrefix("10.9.0.7/32"), "lladdr 02:00:00:00:00:07 PERMANENT"
		}), "[nsid 0] neigh new 10.9.0.7 dev v0 lladdr 02:00:00:00:00:07 PERMANENT"},
		{with(func(e *Event) { e.Kind, e.Action, e.ID, e.Details = nlclient.Nexthop, Del, 7, "blackhole" }), "nexthop del id 7 blackhole"},
		{with(func(e *Event) { e.Action, e.Lost = Overrun, 312 }), "overrun: 312 events lost, resyncing"},
		{with(func(e *Event) { e.Action, e.Lost = Overrun, -1 }), "overrun: events lost (the count is unavailable), resyncing"},
		{with(func(e *Event) { e.Kind, e.Action, e.Objects = nlclient.Addr6, Resync, 5 }), "resync addr6 5 objects"},
	} {
		want := "2026-11-28T23:10:01.123456Z " + tc.want
		if got := tc.e.String(); got != want {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
	}
}

func TestParseKinds(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want int
		err  string
	}{
		{[]string{"all"}, len(Kinds), ""},
		{[]string{"link,addr4", "route4"}, 3, ""},
		{[]string{"stats"}, 0, "no notifications for stats"},
		{[]string{"bogus"}, 0, "unknown dump kind"},
	} {
		kinds, err := ParseKinds(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || len(kinds) != tc.want):
			t.Errorf("%q: %v, %v; want %d kinds", tc.in, kinds, err, tc.want)
		}
	}
}

// TestNSIDControlMessage reads the nsid the kernel puts in a control
// message with NETLINK_LISTEN_ALL_NSID.
func TestNSIDControlMessage(t *testing.T) {
	oob := make([]byte, unix.CmsgSpace(4))
	h := (*unix.Cmsghdr)(unsafePointer(oob))
	h.Level, h.Type = unix.SOL_NETLINK, unix.NETLINK_LISTEN_ALL_NSID
	h.SetLen(unix.CmsgLen(4))
	oob[unix.CmsgLen(0)] = 7
	if got := nsidOf(oob); got != 7 {
		t.Errorf("nsid %d, want 7", got)
	}
	if got := nsidOf(nil); got != NSIDCurrent {
		t.Errorf("no control message: nsid %d, want %d", got, NSIDCurrent)
	}
}
