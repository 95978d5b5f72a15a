package repro

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/nltrace/nltrace/internal/panics"
	"github.com/nltrace/nltrace/nlclient"
)

// Config says what the dumpers do.
type Config struct {
	Target  nlclient.Target
	Kinds   []nlclient.Kind
	Options nlclient.Options // policy and retry budget; OnChunk is set here
	Dumpers int
	// Dumps bounds the dumps of each kind over all dumpers; 0 runs until
	// the context ends.
	Dumps int
	// InjectAt, when above 0, makes Inject run once between chunk InjectAt
	// and InjectAt+1 of the first attempt of every dump.
	InjectAt int
	Inject   func(nlclient.Kind) error
	// Revert undoes the injected change after the dump, so that every
	// dump starts from the same tables.
	Revert func() error
	// Stable returns the objects of a kind that exist for the whole run;
	// each dump is checked against them. Nil: no check.
	Stable func(nlclient.Kind) []nlclient.Key
}

// Dump is the outcome of one Dump call. The sink may keep it; the dumpers
// never touch it again.
type Dump struct {
	Dumper int
	Kind   nlclient.Kind
	// Result is the last attempt; under the retry policy Result.Earlier
	// holds the interrupted attempts before it. Each carries Seq, PortID
	// and NetNSInode, which join it to the kernel's view of the dump.
	Result *nlclient.Result
	// Err is nil or an interruption the policy reported (ErrDumpInterrupted).
	Err error
	// Consistency compares the last attempt with the stable objects; nil
	// when the kind has none.
	Consistency *nlclient.Consistency
	Injection   *Injection
}

// FirstAttempt is the dump's first attempt: what a client without retries
// would have got.
func (d Dump) FirstAttempt() *nlclient.Result {
	if len(d.Result.Earlier) > 0 {
		return d.Result.Earlier[0]
	}
	return d.Result
}

// Injection says whether the injected change was made: a dump with no more
// than InjectAt chunks ends before the point.
type Injection struct {
	At   int  `json:"at"`
	Made bool `json:"made"`
}

// Run starts the dumpers and waits for them. It returns nil when the
// context ends or every dump is done, and the first real failure otherwise
// (an interruption is not one).
func Run(ctx context.Context, cfg Config, sink func(Dump)) error {
	if cfg.Dumpers < 1 {
		cfg.Dumpers = 1
	}
	if cfg.InjectAt > 0 && cfg.Inject == nil {
		return errors.New("inject-at without an injector")
	}
	claimed := make([]atomic.Int64, len(cfg.Kinds))
	g, ctx := errgroup.WithContext(ctx)
	for id := range cfg.Dumpers {
		g.Go(panics.Guard(fmt.Sprintf("dumper %d", id), func() error { return dumper(ctx, cfg, id, claimed, sink) }))
	}
	return g.Wait()
}

func dumper(ctx context.Context, cfg Config, id int, claimed []atomic.Int64, sink func(Dump)) error {
	c, err := nlclient.Dial(cfg.Target)
	if err != nil {
		return err
	}
	defer c.Close()
	if cfg.InjectAt > 0 {
		// The first dump on a fresh socket has a small first chunk: the
		// kernel sizes chunks by the reader's buffer, which it learns from
		// the first read. One unreported dump makes every measured one cut
		// the same chunks, so that chunk K means the same objects.
		for _, k := range cfg.Kinds {
			if _, err := c.Dump(ctx, k, nlclient.Options{}); err != nil && !errors.Is(err, nlclient.ErrDumpInterrupted) {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("dumper %d: warm-up dump: %w", id, err)
			}
		}
	}
	for ctx.Err() == nil {
		busy := false
		for i, k := range cfg.Kinds {
			if cfg.Dumps > 0 && claimed[i].Add(1) > int64(cfg.Dumps) {
				continue
			}
			busy = true
			d, err := dumpOne(ctx, c, cfg, k)
			if ctx.Err() != nil {
				return nil // a dump cut short by the end of the run says nothing
			}
			if err != nil {
				return fmt.Errorf("dumper %d: %w", id, err)
			}
			d.Dumper = id
			sink(d)
		}
		if !busy {
			return nil
		}
	}
	return nil
}

// dumpOne makes one Dump call, with the injected change when asked.
func dumpOne(ctx context.Context, c *nlclient.Client, cfg Config, k nlclient.Kind) (Dump, error) {
	opt := cfg.Options
	var inj *Injection
	if cfg.InjectAt > 0 {
		inj = &Injection{At: cfg.InjectAt}
		attempt := 0
		opt.OnChunk = func(ch nlclient.Chunk) error {
			if ch.Index == 1 {
				attempt++
			}
			// Only the first attempt: a retry then shows what an untouched
			// second dump gets.
			if attempt != 1 || ch.Index != cfg.InjectAt {
				return nil
			}
			if err := cfg.Inject(k); err != nil {
				return fmt.Errorf("inject a change: %w", err)
			}
			inj.Made = true
			return nil
		}
	}
	r, err := c.Dump(ctx, k, opt)
	if inj != nil && inj.Made && cfg.Revert != nil {
		if rerr := cfg.Revert(); rerr != nil {
			return Dump{}, fmt.Errorf("revert the injected change: %w", rerr)
		}
	}
	if err != nil && !errors.Is(err, nlclient.ErrDumpInterrupted) {
		return Dump{}, err
	}
	d := Dump{Kind: k, Result: r, Err: err, Injection: inj}
	if cfg.Stable != nil {
		if stable := cfg.Stable(k); stable != nil {
			cons := nlclient.Check(r, stable)
			d.Consistency = &cons
		}
	}
	return d, nil
}
