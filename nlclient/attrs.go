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
//
// The walk keeps offsets, not slices: next stores no pointers, so it runs
// without the garbage collector's write barriers, which cost more than the
// walk itself while a collection is marking.
type attributes struct {
	b          []byte
	off        int // of the next attribute
	typ        uint16
	start, end int // the current attribute's payload
	err        error
}

func (a *attributes) next() bool {
	rest := a.b[a.off:]
	if a.err != nil || len(rest) == 0 {
		return false
	}
	if len(rest) < unix.SizeofNlAttr {
		a.err = fmt.Errorf("%d trailing bytes, shorter than an attribute header", len(rest))
		return false
	}
	l := int(binary.NativeEndian.Uint16(rest))
	if l == 0 {
		l = unix.SizeofNlAttr
	} else if l < unix.SizeofNlAttr || l > len(rest) {
		a.err = fmt.Errorf("attribute length %d with %d bytes left", l, len(rest))
		return false
	}
	a.typ = binary.NativeEndian.Uint16(rest[2:]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
	a.start, a.end = a.off+unix.SizeofNlAttr, a.off+l
	a.off += min(align(l), len(rest))
	return true
}

// data is the current attribute's payload, valid while b is.
func (a *attributes) data() []byte { return a.b[a.start:a.end] }

func (a *attributes) uint32() uint32 {
	if a.end-a.start != 4 {
		a.err = fmt.Errorf("attribute %d is not a uint32: %d bytes", a.typ, a.end-a.start)
		return 0
	}
	return binary.NativeEndian.Uint32(a.b[a.start:])
}

// string drops the NUL terminators, as netlink strings carry one.
func (a *attributes) string() string { return string(bytes.TrimRight(a.data(), "\x00")) }

// failure is the walk's error, if any, for a message of kind k.
func (a *attributes) failure(k Kind) error {
	if a.err != nil {
		return fmt.Errorf("%v attributes: %w", k, a.err)
	}
	return nil
}
