package nlclient

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Policy is what a dump does when the kernel flags it interrupted.
type Policy int

const (
	// Lenient returns the data and no error, as vishvananda/netlink up to
	// v1.2.0 did.
	Lenient Policy = iota
	// Strict returns the data with an *InterruptedError (matching
	// ErrDumpInterrupted and unix.EINTR), after reading the dump to its end.
	Strict
	// Retry dumps again, a bounded number of times, until one dump is not
	// interrupted.
	Retry
)

var policyNames = []string{"lenient", "strict", "retry"}

func (p Policy) String() string {
	if int(p) < len(policyNames) {
		return policyNames[p]
	}
	return fmt.Sprintf("policy(%d)", int(p))
}

// MarshalText makes policies readable in JSON.
func (p Policy) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a policy's name.
func (p *Policy) UnmarshalText(b []byte) error {
	v, err := ParsePolicy(string(b))
	*p = v
	return err
}

// ParsePolicy accepts a policy's name.
func ParsePolicy(s string) (Policy, error) {
	for i, name := range policyNames {
		if strings.EqualFold(s, name) {
			return Policy(i), nil
		}
	}
	return 0, fmt.Errorf("unknown policy %q (want %s)", s, strings.Join(policyNames, ", "))
}

// Dump dumps one table under the options' policy. The Result is returned
// whenever one was read, also with an error.
func (c *Client) Dump(ctx context.Context, k Kind, opt Options) (*Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch opt.Policy {
	case Lenient:
		return c.dumpOnce(ctx, k, opt.OnChunk)
	case Strict:
		r, err := c.dumpOnce(ctx, k, opt.OnChunk)
		if err == nil && r.Interrupted() {
			err = interrupted(r, 1)
		}
		return r, err
	case Retry:
		return c.retry(ctx, k, opt)
	}
	return nil, fmt.Errorf("unknown policy %v", opt.Policy)
}

func (c *Client) retry(ctx context.Context, k Kind, opt Options) (*Result, error) {
	attempts := opt.Attempts
	if attempts <= 0 {
		attempts = 10
	}
	pause, maxPause := opt.Backoff, opt.MaxBackoff
	if pause <= 0 {
		pause = time.Millisecond
	}
	if maxPause <= 0 {
		maxPause = 100 * time.Millisecond
	}
	var earlier []*Result
	for attempt := 1; ; attempt++ {
		r, err := c.dumpOnce(ctx, k, opt.OnChunk)
		if r != nil {
			r.Attempt, r.Earlier = attempt, earlier
		}
		if err != nil || !r.Interrupted() {
			return r, err
		}
		if attempt >= attempts {
			return r, interrupted(r, attempt)
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(pause):
		}
		// An interrupted attempt's objects are not used again; keep only
		// what says where it was interrupted.
		r.Objects, r.Earlier = nil, nil
		earlier = append(earlier, r)
		pause = min(2*pause, maxPause)
	}
}
