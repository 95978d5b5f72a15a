package nlclient

import "time"

// Chunk is one datagram of a dump, as the kernel built it.
type Chunk struct {
	Index       int    `json:"index"` // 1 for the first datagram
	Bytes       int    `json:"bytes"`
	Messages    int    `json:"messages"`
	Flags       uint16 `json:"flags"`       // of the chunk's first message
	Interrupted bool   `json:"interrupted"` // a message of the chunk carries NLM_F_DUMP_INTR
	Done        bool   `json:"done"`        // the chunk holds NLMSG_DONE
	Stale       int    `json:"stale,omitempty"`
}

// Result is everything one dump attempt saw.
type Result struct {
	Kind       Kind          `json:"kind"`
	Seq        uint32        `json:"seq"`     // the request's sequence number
	PortID     uint32        `json:"port_id"` // the socket's netlink port id
	NetNSInode uint64        `json:"netns_inode"`
	Start      time.Time     `json:"start"`
	Duration   time.Duration `json:"duration_ns"`
	Chunks     []Chunk       `json:"chunks,omitempty"`
	Objects    []Object      `json:"objects,omitempty"`
	// FirstInterrupted is the index of the first chunk that carried
	// NLM_F_DUMP_INTR, 0 when none did.
	FirstInterrupted int  `json:"first_interrupted,omitempty"`
	DoneInterrupted  bool `json:"done_interrupted,omitempty"`
	// Stale counts messages of other requests (an abandoned earlier dump)
	// that were read and discarded.
	Stale int `json:"stale,omitempty"`
	// Attempt is this dump's 1-based attempt number under the retry
	// policy; Earlier holds the interrupted attempts before it.
	Attempt int       `json:"attempt"`
	Earlier []*Result `json:"earlier,omitempty"`
}

// Interrupted reports whether any chunk, NLMSG_DONE included, carried
// NLM_F_DUMP_INTR.
func (r *Result) Interrupted() bool { return r.FirstInterrupted > 0 || r.DoneInterrupted }

// Bytes is the dump's size on the wire.
func (r *Result) Bytes() int {
	n := 0
	for _, c := range r.Chunks {
		n += c.Bytes
	}
	return n
}
