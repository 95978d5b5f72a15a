package correlate

import (
	"slices"
	"sync"

	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

// Attribution is the kernel's explanation of a run's dumps. Package
// report renders it.
type Attribution struct {
	// Unavailable says why there is no attribution (the rest is empty).
	Unavailable string          `json:"unavailable,omitempty"`
	Backend     string          `json:"backend,omitempty"`
	Skipped     []probe.Skipped `json:"skipped,omitempty"`
	// Limits says what the backend cannot see by design (Probe.Limits).
	Limits []string          `json:"limits,omitempty"`
	Drops  uint64            `json:"ring_buffer_drops"`
	Errors []string          `json:"errors,omitempty"`
	Kinds  []KindAttribution `json:"kinds,omitempty"`
	// Dumps holds every interrupted dump, and every dump the kernel
	// disagrees with, with its explanation: in a long run, the first ones
	// up to a bound.
	Dumps []*Dump `json:"dumps,omitempty"`
	// OmittedDumps counts the dumps past the bound of Dumps: counted in
	// Kinds, not listed.
	OmittedDumps int `json:"omitted_dumps,omitempty"`
	// DroppedSamples counts chunk samples set aside unjoined because more
	// were waiting for their dump's result than a run keeps in memory:
	// their dumps may count as without samples.
	DroppedSamples int `json:"dropped_samples,omitempty"`
	// DroppedWriters counts writer events set aside for the same reason
	// before the dumps they explain were joined: those may count as
	// unexplained.
	DroppedWriters int `json:"dropped_writers,omitempty"`
}

// NewAttribution summarizes joined dumps, keeping the top culprits of each
// kind and the dumps worth reading one by one.
func NewAttribution(dumps []*Dump, top int) *Attribution {
	a := &Attribution{Kinds: Summarize(dumps, top)}
	for _, d := range dumps {
		if d.Interrupted() || len(d.Mismatches) > 0 || d.Missing != "" {
			a.Dumps = append(a.Dumps, d)
		}
	}
	return a
}

// Collector gathers the probe's events and the dumpers' results of one run
// for Join, keeping them all: for tests and short runs (a run of minutes
// uses a Joiner). Its methods may be called from several goroutines.
type Collector struct {
	mu      sync.Mutex
	results []*nlclient.Result
	samples []*probe.Sample
	writers []*probe.Writer
}

// Event keeps a probe event (*probe.Sample or *probe.Writer).
func (c *Collector) Event(ev any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch e := ev.(type) {
	case *probe.Sample:
		c.samples = append(c.samples, e)
	case *probe.Writer:
		c.writers = append(c.writers, e)
	}
}

// Result keeps one dump's result (its earlier attempts come with it).
func (c *Collector) Result(r *nlclient.Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.results = append(c.results, r)
}

// Join joins what was collected so far.
func (c *Collector) Join() []*Dump {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Join(c.results, c.samples, c.writers)
}

// Samples returns a copy of the samples collected so far.
func (c *Collector) Samples() []*probe.Sample {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.samples)
}

// Writers returns a copy of the writer events collected so far.
func (c *Collector) Writers() []*probe.Writer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.writers)
}
