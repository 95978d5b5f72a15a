package nlclient

import (
	"errors"
	"time"

	"github.com/mdlayher/netlink"
)

// fakeSocket answers each request with the datagrams a script returns for
// it, so policies and error paths run without root or a kernel.
type fakeSocket struct {
	pid    uint32
	seq    uint32
	script func(req int, seq, pid uint32) [][]byte
	queue  [][]byte
	sent   int
	closed bool
	// errAt makes the n-th Recv (1-based) of the socket fail with err.
	errAt int
	err   error
	recvs int
}

var errFakeEmpty = errors.New("fake socket: nothing left to read")

func (f *fakeSocket) Send(m netlink.Message) (netlink.Message, error) {
	f.seq++
	f.sent++
	m.Header.Sequence, m.Header.PID = f.seq, f.pid
	f.queue = append(f.queue, f.script(f.sent, f.seq, f.pid)...)
	return m, nil
}

func (f *fakeSocket) Execute(m netlink.Message) ([]netlink.Message, error) {
	return nil, errors.New("fake socket: no execute")
}

func (f *fakeSocket) Recv(b []byte) (int, error) {
	f.recvs++
	if f.recvs == f.errAt {
		return 0, f.err
	}
	if len(f.queue) == 0 {
		return 0, errFakeEmpty
	}
	d := f.queue[0]
	f.queue = f.queue[1:]
	return copy(b, d) + max(0, len(d)-len(b)), nil
}

func (f *fakeSocket) SetReadDeadline(time.Time) error { return nil }
func (f *fakeSocket) PortID() uint32                  { return f.pid }
func (f *fakeSocket) Close() error                    { f.closed = true; return nil }

// fakeClient returns a client whose sockets are fakes running script; each
// reopened socket gets the next port id, and sockets lists them all.
func fakeClient(script func(req int, seq, pid uint32) [][]byte) (*Client, *[]*fakeSocket) {
	var sockets []*fakeSocket
	c := &Client{buf: make([]byte, bufferSize)}
	c.dial = func() (socket, uint64, error) {
		s := &fakeSocket{pid: uint32(100 + len(sockets)), script: script}
		sockets = append(sockets, s)
		return s, 4026531840, nil
	}
	if err := c.open(); err != nil {
		panic(err)
	}
	return c, &sockets
}
