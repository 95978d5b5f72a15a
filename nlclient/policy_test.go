package nlclient

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// linkDump scripts a link dump of n chunks of two links each plus a DONE
// datagram, with NLM_F_DUMP_INTR on chunk flagAt (0: none) and on DONE when
// doneFlag is set.
func linkDump(n, flagAt int, doneFlag bool) func(req int, seq, pid uint32) [][]byte {
	return func(req int, seq, pid uint32) [][]byte {
		var out [][]byte
		for i := 1; i <= n; i++ {
			var flags uint16 = unix.NLM_F_MULTI
			if i == flagAt {
				flags |= flagIntr
			}
			out = append(out, concat(
				nlmsg(unix.RTM_NEWLINK, flags, seq, pid, linkPayload(int32(2*i), fmt.Sprintf("l%d", 2*i))),
				nlmsg(unix.RTM_NEWLINK, unix.NLM_F_MULTI, seq, pid, linkPayload(int32(2*i+1), fmt.Sprintf("l%d", 2*i+1))),
			))
		}
		var flags uint16 = unix.NLM_F_MULTI
		if doneFlag {
			flags |= flagIntr
		}
		return append(out, nlmsg(unix.NLMSG_DONE, flags, seq, pid, make([]byte, 4)))
	}
}

func TestPolicies(t *testing.T) {
	tests := []struct {
		name         string
		policy       Policy
		script       func(req int, seq, pid uint32) [][]byte
		wantErr      bool
		wantAttempts int
		wantFirst    int
		wantDone     bool
	}{
		{"lenient clean", Lenient, linkDump(5, 0, false), false, 1, 0, false},
		{"lenient flagged keeps data, no error", Lenient, linkDump(5, 3, false), false, 1, 3, false},
		{"strict clean", Strict, linkDump(5, 0, false), false, 1, 0, false},
		{"strict flagged chunk", Strict, linkDump(5, 3, false), true, 1, 3, false},
		{"strict flag only on DONE", Strict, linkDump(5, 0, true), true, 1, 0, true},
		{"retry succeeds on the third attempt", Retry, func(req int, seq, pid uint32) [][]byte {
			if req < 3 {
				return linkDump(5, 2, false)(req, seq, pid)
			}
			return linkDump(5, 0, false)(req, seq, pid)
		}, false, 3, 0, false},
		{"retry exhausts its budget", Retry, linkDump(5, 4, false), true, 4, 4, false},
		{"retry on DONE-only flags", Retry, linkDump(5, 0, true), true, 4, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, socks := fakeClient(tt.script)
			r, err := c.Dump(context.Background(), Link, Options{Policy: tt.policy, Attempts: 4, Backoff: time.Microsecond})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				if !errors.Is(err, unix.EINTR) || !errors.Is(err, ErrDumpInterrupted) {
					t.Errorf("error %v does not match EINTR and ErrDumpInterrupted", err)
				}
				if !strings.Contains(err.Error(), "interrupted system call") {
					t.Errorf("error %q does not say what users search for", err)
				}
			}
			if r.Attempt != tt.wantAttempts || len(r.Earlier) != tt.wantAttempts-1 {
				t.Errorf("attempt %d with %d earlier, want %d", r.Attempt, len(r.Earlier), tt.wantAttempts)
			}
			if r.FirstInterrupted != tt.wantFirst || r.DoneInterrupted != tt.wantDone {
				t.Errorf("first interrupted %d, done %v; want %d, %v", r.FirstInterrupted, r.DoneInterrupted, tt.wantFirst, tt.wantDone)
			}
			if len(r.Objects) != 10 || len(r.Chunks) != 6 {
				t.Errorf("%d objects in %d chunks, want 10 in 6", len(r.Objects), len(r.Chunks))
			}
			// Every policy reads every dump to its end on the same socket.
			if len(*socks) != 1 || len((*socks)[0].queue) != 0 {
				t.Errorf("%d sockets, %d datagrams left unread", len(*socks), len((*socks)[0].queue))
			}
		})
	}
}

func TestOnChunkRunsBetweenChunks(t *testing.T) {
	c, _ := fakeClient(linkDump(4, 0, false))
	var seen []int
	r, err := c.Dump(context.Background(), Link, Options{OnChunk: func(ch Chunk) error {
		seen = append(seen, ch.Index)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Not after the last chunk: there is no "between" left.
	if fmt.Sprint(seen) != "[1 2 3 4]" || len(r.Chunks) != 5 {
		t.Errorf("callback after chunks %v of %d", seen, len(r.Chunks))
	}
}

func TestOnChunkErrorDrainsTheDump(t *testing.T) {
	c, socks := fakeClient(linkDump(4, 0, false))
	boom := errors.New("boom")
	r, err := c.Dump(context.Background(), Link, Options{OnChunk: func(ch Chunk) error { return boom }})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "chunk 1") {
		t.Fatalf("err = %v, want boom at chunk 1", err)
	}
	if len(r.Chunks) != 5 || len((*socks)[0].queue) != 0 {
		t.Errorf("dump not drained: %d chunks, %d left", len(r.Chunks), len((*socks)[0].queue))
	}
}

func TestErrorPaths(t *testing.T) {
	tests := []struct {
		name   string
		script func(req int, seq, pid uint32) [][]byte
		errAt  int
		recv   error
		want   []string
		is     error
	}{
		{name: "kernel error with extended ack", script: func(_ int, seq, pid uint32) [][]byte {
			return [][]byte{nlmsg(unix.NLMSG_ERROR, unix.NLM_F_CAPPED|unix.NLM_F_ACK_TLVS, seq, pid, concat(
				errno32(unix.EINVAL), nlmsg(unix.RTM_GETLINK, 0, seq, pid, nil),
				attrs(func(ae *netlink.AttributeEncoder) { ae.String(unix.NLMSGERR_ATTR_MSG, "Invalid header for link dump") })))}
		}, want: []string{"invalid argument", "EINVAL", "Invalid header for link dump"}, is: unix.EINVAL},
		{name: "dump already running", script: func(_ int, seq, pid uint32) [][]byte {
			return [][]byte{nlmsg(unix.NLMSG_ERROR, 0, seq, pid, concat(errno32(unix.EBUSY), nlmsg(unix.RTM_GETLINK, 0, seq, pid, nil)))}
		}, want: []string{"EBUSY", "already running"}, is: unix.EBUSY},
		{name: "error in NLMSG_DONE", script: func(_ int, seq, pid uint32) [][]byte {
			return [][]byte{nlmsg(unix.NLMSG_DONE, unix.NLM_F_MULTI, seq, pid, errno32(unix.EMSGSIZE))}
		}, want: []string{"EMSGSIZE"}, is: unix.EMSGSIZE},
		{name: "receive buffer overrun", script: linkDump(3, 0, false), errAt: 2, recv: unix.ENOBUFS,
			want: []string{"ENOBUFS", "lost"}, is: unix.ENOBUFS},
		{name: "datagram larger than the buffer", script: func(_ int, seq, pid uint32) [][]byte {
			return [][]byte{make([]byte, bufferSize+1)}
		}, want: []string{"exceeds"}, is: ErrTruncated},
		{name: "message length past the datagram", script: func(_ int, seq, pid uint32) [][]byte {
			m := nlmsg(unix.RTM_NEWLINK, unix.NLM_F_MULTI, seq, pid, linkPayload(1, "lo"))
			return [][]byte{m[:len(m)-8], nlmsg(unix.NLMSG_DONE, unix.NLM_F_MULTI, seq, pid, make([]byte, 4))}
		}, want: []string{"message length"}, is: ErrTruncated},
		{name: "message shorter than its header", script: func(_ int, seq, pid uint32) [][]byte {
			return [][]byte{nlmsg(unix.RTM_NEWLINK, unix.NLM_F_MULTI, seq, pid, make([]byte, 4)), nlmsg(unix.NLMSG_DONE, 0, seq, pid, make([]byte, 4))}
		}, want: []string{"shorter than its 16-byte header"}},
		{name: "unexpected message type", script: func(_ int, seq, pid uint32) [][]byte {
			return [][]byte{nlmsg(unix.RTM_NEWROUTE, unix.NLM_F_MULTI, seq, pid, routePayload(254, netip.MustParsePrefix("10.0.0.0/8"), 1)), nlmsg(unix.NLMSG_DONE, 0, seq, pid, make([]byte, 4))}
		}, want: []string{"unexpected message type"}},
		{name: "overrun message", script: func(_ int, seq, pid uint32) [][]byte {
			return [][]byte{nlmsg(unix.NLMSG_OVERRUN, 0, seq, pid, nil), nlmsg(unix.NLMSG_DONE, 0, seq, pid, make([]byte, 4))}
		}, want: []string{"overrun"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, socks := fakeClient(tt.script)
			(*socks)[0].errAt, (*socks)[0].err = tt.errAt, tt.recv
			_, err := c.Dump(context.Background(), Link, Options{Policy: Retry, Attempts: 3})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not match %v", err, tt.is)
			}
			if errors.Is(err, unix.EINTR) {
				t.Errorf("error %v must not look like an interrupted dump", err)
			}
		})
	}
}

func TestStaleRepliesAreSkipped(t *testing.T) {
	c, _ := fakeClient(func(_ int, seq, pid uint32) [][]byte {
		return [][]byte{
			// The end of an older dump, then ours.
			nlmsg(unix.RTM_NEWLINK, unix.NLM_F_MULTI|flagIntr, seq-1, pid, linkPayload(9, "old")),
			concat(nlmsg(unix.NLMSG_DONE, unix.NLM_F_MULTI, seq-1, pid, make([]byte, 4)),
				nlmsg(unix.RTM_NEWLINK, unix.NLM_F_MULTI, seq, pid, linkPayload(1, "lo"))),
			nlmsg(unix.NLMSG_DONE, unix.NLM_F_MULTI, seq, pid, make([]byte, 4)),
		}
	})
	r, err := c.Dump(context.Background(), Link, Options{Policy: Strict})
	if err != nil {
		t.Fatal(err)
	}
	if r.Stale != 2 || len(r.Chunks) != 2 || len(r.Objects) != 1 || r.Objects[0].Name != "lo" {
		t.Errorf("stale %d, chunks %d, objects %+v", r.Stale, len(r.Chunks), r.Objects)
	}
}

func TestAbandonedDumpReopensTheSocket(t *testing.T) {
	c, socks := fakeClient(linkDump(3, 0, false))
	(*socks)[0].errAt, (*socks)[0].err = 2, unix.ENOBUFS
	if _, err := c.Dump(context.Background(), Link, Options{}); err == nil {
		t.Fatal("no error")
	}
	r, err := c.Dump(context.Background(), Link, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(*socks) != 2 || !(*socks)[0].closed || r.PortID != (*socks)[1].pid {
		t.Errorf("%d sockets, first closed %v, port id %d", len(*socks), (*socks)[0].closed, r.PortID)
	}
}

func TestRetryStopsOnCancel(t *testing.T) {
	c, _ := fakeClient(linkDump(3, 2, false))
	ctx, cancel := context.WithCancel(context.Background())
	r, err := c.Dump(ctx, Link, Options{Policy: Retry, Attempts: 1000, Backoff: time.Millisecond, OnChunk: func(Chunk) error {
		cancel()
		return nil
	}})
	if !errors.Is(err, context.Canceled) || r.Attempt != 1 {
		t.Errorf("err %v after %d attempts, want cancellation after 1", err, r.Attempt)
	}
}
