package nlclient

import (
	"encoding/binary"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

const (
	headerLen = unix.NLMSG_HDRLEN
	flagIntr  = unix.NLM_F_DUMP_INTR
)

func align(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// messages calls fn for each message of a datagram. A length field that is
// too small or points past the datagram is an error, never a panic.
func messages(b []byte, fn func(h unix.NlMsghdr, data []byte) error) error {
	for len(b) > 0 {
		if len(b) < headerLen {
			return fmt.Errorf("%w: %d trailing bytes, shorter than a message header", ErrTruncated, len(b))
		}
		h := load[unix.NlMsghdr](b)
		if h.Len < headerLen || int(h.Len) > len(b) {
			return fmt.Errorf("%w: message length %d with %d bytes left in the datagram", ErrTruncated, h.Len, len(b))
		}
		if err := fn(h, b[headerLen:h.Len]); err != nil {
			return err
		}
		b = b[min(align(int(h.Len)), len(b)):]
	}
	return nil
}

// reader folds the datagrams of one dump into a Result.
type reader struct {
	r    *Result
	done bool
}

// datagram adds one received datagram. It returns the chunk when the
// datagram belonged to this dump, or nil when it held only stale messages.
func (d *reader) datagram(b []byte) (*Chunk, error) {
	c := Chunk{Index: len(d.r.Chunks) + 1, Bytes: len(b)}
	var stale int
	var dataFlagged bool
	var dumpErr error
	kind := d.r.Kind.info()
	err := messages(b, func(h unix.NlMsghdr, data []byte) error {
		if h.Seq != d.r.Seq || h.Pid != d.r.PortID {
			stale++
			return nil
		}
		if c.Messages == 0 {
			c.Flags = h.Flags
		}
		c.Messages++
		if h.Flags&flagIntr != 0 {
			c.Interrupted = true
			dataFlagged = dataFlagged || h.Type != unix.NLMSG_DONE
		}
		switch h.Type {
		case unix.NLMSG_NOOP:
		case unix.NLMSG_DONE:
			c.Done, d.done = true, true
			d.r.DoneInterrupted = h.Flags&flagIntr != 0
			// Some families end a failed dump with a negative errno here.
			if len(data) >= 4 {
				if errno := int32(binary.NativeEndian.Uint32(data)); errno < 0 {
					dumpErr = &KernelError{Kind: d.r.Kind, Errno: unix.Errno(-errno), Message: extack(h, data)}
				}
			}
		case unix.NLMSG_ERROR:
			d.done = true
			if len(data) < 4 {
				return fmt.Errorf("%w: error message of %d bytes", ErrTruncated, len(data))
			}
			if errno := int32(binary.NativeEndian.Uint32(data)); errno != 0 {
				dumpErr = &KernelError{Kind: d.r.Kind, Errno: unix.Errno(-errno), Message: extack(h, data)}
			}
		case unix.NLMSG_OVERRUN:
			return fmt.Errorf("%v dump: the kernel reported an overrun: data was lost", d.r.Kind)
		default:
			if kind == nil || h.Type != kind.reply {
				return fmt.Errorf("%v dump: unexpected message type %d", d.r.Kind, h.Type)
			}
			d.r.Objects = append(d.r.Objects, Object{})
			if err := decode(&d.r.Objects[len(d.r.Objects)-1], d.r.Kind, data); err != nil {
				d.r.Objects = d.r.Objects[:len(d.r.Objects)-1]
				return err
			}
		}
		return nil
	})
	d.r.Stale += stale
	if c.Messages == 0 {
		return nil, err
	}
	c.Stale = stale
	d.r.Chunks = append(d.r.Chunks, c)
	if dataFlagged && d.r.FirstInterrupted == 0 {
		d.r.FirstInterrupted = c.Index
	}
	if err == nil {
		err = dumpErr
	}
	return &d.r.Chunks[len(d.r.Chunks)-1], err
}

// extack returns the text of an extended acknowledgement, if any.
func extack(h unix.NlMsghdr, data []byte) string {
	if h.Flags&unix.NLM_F_ACK_TLVS == 0 {
		return ""
	}
	off := 4 // the errno
	if h.Type == unix.NLMSG_ERROR {
		// The request's header follows, and its payload too unless capped.
		if len(data) < off+headerLen {
			return ""
		}
		n := headerLen
		if h.Flags&unix.NLM_F_CAPPED == 0 {
			n = int(load[unix.NlMsghdr](data[off:]).Len)
		}
		off += align(n)
	}
	if off >= len(data) {
		return ""
	}
	ad, err := netlink.NewAttributeDecoder(data[off:])
	if err != nil {
		return ""
	}
	for ad.Next() {
		if ad.Type() == unix.NLMSGERR_ATTR_MSG {
			return ad.String()
		}
	}
	return ""
}
