package nlclient

import (
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

func TestDecodeEveryKind(t *testing.T) {
	tests := []struct {
		kind Kind
		data []byte
		want Object
	}{
		{Link, linkPayload(7, "veth7"), Object{Kind: Link, Index: 7, Name: "veth7"}},
		{Addr4, addrPayload(3, netip.MustParsePrefix("10.1.2.3/24")), Object{Kind: Addr4, Index: 3, Prefix: netip.MustParsePrefix("10.1.2.3/24")}},
		{Addr6, addrPayload(4, netip.MustParsePrefix("fd00::5/64")), Object{Kind: Addr6, Index: 4, Prefix: netip.MustParsePrefix("fd00::5/64")}},
		{Route4, routePayload(254, netip.MustParsePrefix("10.1.0.0/16"), 3), Object{Kind: Route4, Index: 3, Table: 254, Prefix: netip.MustParsePrefix("10.1.0.0/16")}},
		{Route4, routePayload(254, netip.MustParsePrefix("0.0.0.0/0"), 2), Object{Kind: Route4, Index: 2, Table: 254, Prefix: netip.MustParsePrefix("0.0.0.0/0")}},
		{Route6, routePayload(255, netip.MustParsePrefix("fe80::/64"), 2), Object{Kind: Route6, Index: 2, Table: 255, Prefix: netip.MustParsePrefix("fe80::/64")}},
		{Neigh, neighPayload(5, netip.MustParseAddr("10.0.0.1")), Object{Kind: Neigh, Index: 5, Prefix: netip.MustParsePrefix("10.0.0.1/32")}},
		{Nexthop, nexthopPayload(42), Object{Kind: Nexthop, ID: 42}},
		{Stats, statsPayload(9), Object{Kind: Stats, Index: 9}},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			var got Object
			err := decode(&got, tt.kind, tt.data)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("decode = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeRejectsShortHeaders(t *testing.T) {
	for _, k := range Kinds {
		if err := decode(&Object{}, k, make([]byte, 3)); err == nil {
			t.Errorf("%v: a 3-byte message decoded without error", k)
		}
	}
}

func TestDecodeRejectsBadAttributes(t *testing.T) {
	data := append(ifinfo(1, 0, 0), 0xff, 0xff, 0x03, 0x00) // length 65535 in 4 bytes
	if err := decode(&Object{}, Link, data); err == nil {
		t.Error("an attribute longer than the message decoded without error")
	}
}

func TestKeyIgnoresWhatChanges(t *testing.T) {
	a := Object{Kind: Link, Index: 3, Name: "a"}
	b := Object{Kind: Link, Index: 3, Name: "renamed"}
	if a.Key() != b.Key() {
		t.Error("a rename changed a link's key")
	}
	r1 := Object{Kind: Route4, Index: 1, Table: 254, Prefix: netip.MustParsePrefix("10.0.0.0/8")}
	r2 := r1
	r2.Index = 2
	if r1.Key() != r2.Key() {
		t.Error("a route's output device changed its key")
	}
	if got := (Key{Kind: Addr6, Index: 2, Prefix: netip.MustParsePrefix("fd00::1/64")}).String(); got != "addr6 fd00::1/64 on ifindex 2" {
		t.Errorf("key string %q", got)
	}
	_ = unix.AF_INET
}
