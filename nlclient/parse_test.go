package nlclient

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

func TestMessagesSplitsDatagrams(t *testing.T) {
	d := concat(nlmsg(unix.RTM_NEWLINK, 0, 1, 2, linkPayload(1, "lo")), nlmsg(unix.NLMSG_DONE, 0, 1, 2, make([]byte, 4)))
	var types []uint16
	if err := messages(d, func(h unix.NlMsghdr, data []byte) error {
		types = append(types, h.Type)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(types) != 2 || types[0] != unix.RTM_NEWLINK || types[1] != unix.NLMSG_DONE {
		t.Errorf("types %v", types)
	}
}

func TestMessagesRejectsMalformed(t *testing.T) {
	good := nlmsg(unix.RTM_NEWLINK, 0, 1, 2, linkPayload(1, "lo"))
	short := append([]byte(nil), good...)
	short[0] = 8 // length below the header's own
	tests := map[string][]byte{
		"trailing bytes":        append(append([]byte(nil), good...), 1, 2, 3),
		"length below a header": short,
		"length past the end":   good[:len(good)-4],
	}
	for name, d := range tests {
		t.Run(name, func(t *testing.T) {
			err := messages(d, func(unix.NlMsghdr, []byte) error { return nil })
			if !errors.Is(err, ErrTruncated) {
				t.Errorf("err = %v, want ErrTruncated", err)
			}
		})
	}
}

func TestDatagramFlags(t *testing.T) {
	const seq, pid = 7, 9
	tests := []struct {
		name      string
		datagrams [][]byte
		first     int
		done      bool
	}{
		{"flag on the first message", [][]byte{
			nlmsg(unix.RTM_NEWLINK, unix.NLM_F_MULTI, seq, pid, linkPayload(1, "a")),
			concat(nlmsg(unix.RTM_NEWLINK, unix.NLM_F_MULTI|flagIntr, seq, pid, linkPayload(2, "b")), nlmsg(unix.RTM_NEWLINK, unix.NLM_F_MULTI, seq, pid, linkPayload(3, "c"))),
			nlmsg(unix.NLMSG_DONE, unix.NLM_F_MULTI, seq, pid, make([]byte, 4)),
		}, 2, false},
		{"flag only on NLMSG_DONE", [][]byte{
			nlmsg(unix.RTM_NEWLINK, unix.NLM_F_MULTI, seq, pid, linkPayload(1, "a")),
			nlmsg(unix.NLMSG_DONE, unix.NLM_F_MULTI|flagIntr, seq, pid, make([]byte, 4)),
		}, 0, true},
		{"DONE sharing a datagram with flagged data", [][]byte{
			concat(nlmsg(unix.RTM_NEWLINK, unix.NLM_F_MULTI|flagIntr, seq, pid, linkPayload(1, "a")), nlmsg(unix.NLMSG_DONE, unix.NLM_F_MULTI, seq, pid, make([]byte, 4))),
		}, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := reader{r: &Result{Kind: Link, Seq: seq, PortID: pid}}
			for _, b := range tt.datagrams {
				if _, err := d.datagram(b); err != nil {
					t.Fatal(err)
				}
			}
			if !d.done || d.r.FirstInterrupted != tt.first || d.r.DoneInterrupted != tt.done {
				t.Errorf("done %v, first %d, done flag %v; want %d, %v", d.done, d.r.FirstInterrupted, d.r.DoneInterrupted, tt.first, tt.done)
			}
		})
	}
}
