package nlclient

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// attributes walks a message's netlink attributes in place. mdlayher's
// AttributeDecoder copies every attribute's payload, about 40 allocations
// per link message, when a dump keeps only a name or an address of each.
// It accepts what that decoder accepts: zero-length attributes are skipped
// over one header, shorter or overlong ones are an error.
type attributes struct {
	b    []byte
	typ  uint16
	data []byte // the current attribute's payload, valid until next
	err  error
}

func (a *attributes) next() bool {
	if a.err != nil || len(a.b) == 0 {
		return false
	}
	if len(a.b) < unix.SizeofNlAttr {
		a.err = fmt.Errorf("%d trailing bytes, shorter than an attribute header", len(a.b))
		return false
	}
	h := load[unix.NlAttr](a.b)
	l := int(h.Len)
	if l == 0 {
		l = unix.SizeofNlAttr
	} else if l < unix.SizeofNlAttr || l > len(a.b) {
		a.err = fmt.Errorf("attribute length %d with %d bytes left", l, len(a.b))
		return false
	}
	a.typ = h.Type &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
	a.data = a.b[unix.SizeofNlAttr:l]
	a.b = a.b[min(align(l), len(a.b)):]
	return true
}

func (a *attributes) uint32() uint32 {
	if len(a.data) != 4 {
		a.err = fmt.Errorf("attribute %d is not a uint32: %d bytes", a.typ, len(a.data))
		return 0
	}
	return binary.NativeEndian.Uint32(a.data)
}

// string drops the NUL terminators, as netlink strings carry one.
func (a *attributes) string() string { return string(bytes.TrimRight(a.data, "\x00")) }

// failure is the walk's error, if any, for a message of kind k.
func (a *attributes) failure(k Kind) error {
	if a.err != nil {
		return fmt.Errorf("%v attributes: %w", k, a.err)
	}
	return nil
}
