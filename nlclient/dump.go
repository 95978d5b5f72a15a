package nlclient

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mdlayher/netlink"
)

// Options shape one Dump call.
type Options struct {
	Policy Policy
	// Attempts bounds the retry policy's dumps (default 10).
	Attempts int
	// Backoff is the retry policy's first pause, doubled after each
	// interrupted attempt up to MaxBackoff (defaults 1 ms and 100 ms).
	Backoff    time.Duration
	MaxBackoff time.Duration
	// OnChunk runs after each chunk but the last is read, before the next
	// is requested: a change made there lands at a known point of the dump.
	// An error it returns ends the dump after draining it, and is returned.
	OnChunk func(Chunk) error
}

// dumpOnce sends one dump request and reads it to its end, whatever
// happens: a socket left with part of a dump refuses the next one (EBUSY).
func (c *Client) dumpOnce(ctx context.Context, k Kind, onChunk func(Chunk) error) (*Result, error) {
	if err := c.reopen(); err != nil {
		return nil, err
	}
	typ, hdr, err := k.request()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	req, err := c.sock.Send(netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(typ), Flags: netlink.Request | netlink.Dump},
		Data:   hdr,
	})
	if err != nil {
		return nil, fmt.Errorf("%v dump: send request: %w", k, err)
	}
	r := &Result{Kind: k, Seq: req.Header.Sequence, PortID: c.sock.PortID(), NetNSInode: c.inode, Start: start, Attempt: 1}
	// Tables change little between dumps: room for the last dump's objects
	// and a few more saves growing the slice object by object.
	if n := c.lastObjects[k]; n > 0 {
		r.Objects = make([]Object, 0, n+n/8)
	}
	c.stale = true

	if ctx.Done() != nil {
		// A past deadline wakes a blocked read at once.
		stop := context.AfterFunc(ctx, func() { _ = c.sock.SetReadDeadline(time.Unix(1, 0)) })
		defer func() {
			if !stop() {
				_ = c.sock.SetReadDeadline(time.Time{})
			}
		}()
	}

	d := reader{r: r}
	var firstErr error
	for !d.done {
		n, err := c.recv()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() != nil {
				err = ctx.Err()
			}
			r.Duration = time.Since(start)
			return r, errors.Join(firstErr, receiveError(k, err))
		}
		chunk, err := d.datagram(c.buf[:n])
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if chunk != nil && !d.done && onChunk != nil && firstErr == nil {
			if err := onChunk(*chunk); err != nil {
				firstErr = fmt.Errorf("%v dump: chunk %d callback: %w", k, chunk.Index, err)
			}
		}
	}
	c.stale = false
	c.lastObjects[k] = len(r.Objects)
	r.Duration = time.Since(start)
	return r, firstErr
}
