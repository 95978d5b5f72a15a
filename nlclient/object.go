package nlclient

import (
	"fmt"
	"net/netip"
)

// Object is the minimal decoded form of one dumped message: enough to name
// it and to tell whether a dump missed or repeated it.
type Object struct {
	Kind   Kind         `json:"kind"`
	Index  int32        `json:"ifindex,omitempty"` // the device: its own index, or the route's or nexthop's output device
	Name   string       `json:"name,omitempty"`    // links
	Prefix netip.Prefix `json:"prefix,omitzero"`   // addresses, route destinations, neighbours
	Table  uint32       `json:"table,omitempty"`   // routes
	ID     uint32       `json:"id,omitempty"`      // nexthops
}

// Key identifies an object across dumps: what stays the same while it
// exists (a link's index, not its name, which a rename changes).
type Key struct {
	Kind   Kind
	Index  int32
	Prefix netip.Prefix
	Table  uint32
	ID     uint32
}

// Key returns the object's identity.
func (o Object) Key() Key {
	k := Key{Kind: o.Kind, Index: o.Index, Prefix: o.Prefix, Table: o.Table, ID: o.ID}
	if i := o.Kind.info(); i != nil && i.byDestination {
		k.Index = 0
	}
	return k
}

func (k Key) String() string {
	if i := k.Kind.info(); i != nil {
		return i.describe(k)
	}
	return k.Kind.String()
}

func describeDevice(k Key) string { return fmt.Sprintf("%v ifindex %d", k.Kind, k.Index) }
func describeAddr(k Key) string   { return fmt.Sprintf("%v %v on ifindex %d", k.Kind, k.Prefix, k.Index) }
func describeRoute(k Key) string  { return fmt.Sprintf("%v %v table %d", k.Kind, k.Prefix, k.Table) }
func describeNexthop(k Key) string {
	return fmt.Sprintf("nexthop id %d", k.ID)
}

// decode fills in o, a zero Object, from one reply message's payload.
// Fields that are missing stay zero; a header too short for its kind is an
// error. The reader decodes into the slot the object will keep in
// Result.Objects, so that an object is never copied.
func decode(o *Object, k Kind, data []byte) error {
	o.Kind = k
	i := k.info()
	if i == nil {
		return fmt.Errorf("no decoder for %v", k)
	}
	if len(data) < len(i.header) {
		return fmt.Errorf("%v message of %d bytes is shorter than its %d-byte header", k, len(data), len(i.header))
	}
	return i.decode(o, data)
}
