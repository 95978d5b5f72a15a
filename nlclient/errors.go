package nlclient

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// ErrDumpInterrupted is matched (errors.Is) by every error that reports a
// dump carrying NLM_F_DUMP_INTR. Such errors also match unix.EINTR, as the
// errors of libmnl and vishvananda/netlink do, so callers written for those
// keep working.
var ErrDumpInterrupted = errors.New("dump interrupted: results may be incomplete or inconsistent")

// ErrTruncated reports a datagram or message that does not fit where it was
// read: a buffer too small, or a length field pointing past the data.
var ErrTruncated = errors.New("truncated netlink data")

// InterruptedError says where a dump was interrupted.
type InterruptedError struct {
	Kind     Kind
	Chunk    int  // first chunk that carried the flag, 0 if only NLMSG_DONE did
	Done     bool // NLMSG_DONE carried the flag
	Attempts int  // how many dumps the retry policy made
}

func (e *InterruptedError) Error() string {
	where := fmt.Sprintf("chunk %d", e.Chunk)
	if e.Chunk == 0 {
		where = "NLMSG_DONE"
	}
	s := fmt.Sprintf("%v dump: interrupted system call: results may be incomplete or inconsistent (NLM_F_DUMP_INTR on %s)", e.Kind, where)
	if e.Attempts > 1 {
		s += fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	return s
}

// Is makes the error match ErrDumpInterrupted and unix.EINTR.
func (e *InterruptedError) Is(target error) bool {
	return target == ErrDumpInterrupted || target == unix.EINTR
}

func interrupted(r *Result, attempts int) *InterruptedError {
	return &InterruptedError{Kind: r.Kind, Chunk: r.FirstInterrupted, Done: r.DoneInterrupted, Attempts: attempts}
}

// KernelError is an error the kernel returned in NLMSG_ERROR or NLMSG_DONE,
// with its extended-ack text when it sent one.
type KernelError struct {
	Kind    Kind
	Errno   unix.Errno
	Message string
}

func (e *KernelError) Error() string {
	s := fmt.Sprintf("%v dump: kernel replied %v (%s)", e.Kind, e.Errno.Error(), unix.ErrnoName(e.Errno))
	if e.Message != "" {
		s += ": " + e.Message
	}
	switch e.Errno {
	case unix.EBUSY:
		s += " (a dump is already running on this socket: read it to the end, or use a new socket)"
	case unix.EOPNOTSUPP, unix.EPROTONOSUPPORT:
		s += " (this kernel cannot dump that table)"
	}
	return s
}

// Unwrap exposes the errno to errors.Is.
func (e *KernelError) Unwrap() error { return e.Errno }

func receiveError(k Kind, err error) error {
	if errors.Is(err, unix.ENOBUFS) {
		return fmt.Errorf("%v dump: socket receive buffer overflowed, replies were lost (ENOBUFS): %w", k, err)
	}
	return fmt.Errorf("%v dump: receive: %w", k, err)
}
