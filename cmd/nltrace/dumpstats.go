package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/nltrace/nltrace/nlclient"
)

// kindStats sums the dumps of one kind.
type kindStats struct {
	kind        nlclient.Kind
	dumps       int
	interrupted int // final results still interrupted
	attempts    int
	objects     int
	chunks      int
	elapsed     time.Duration
}

func (s *kindStats) add(r *nlclient.Result) {
	s.dumps++
	s.attempts += r.Attempt
	s.objects += len(r.Objects)
	s.chunks += len(r.Chunks)
	s.elapsed += r.Duration
	for _, e := range r.Earlier {
		s.elapsed += e.Duration
	}
	if r.Interrupted() {
		s.interrupted++
	}
}

// interruptedAttempts counts every interrupted attempt, retried or not.
func (s *kindStats) interruptedAttempts() int {
	return s.interrupted + s.attempts - s.dumps
}

func printTable(w io.Writer, kinds []nlclient.Kind, stats map[nlclient.Kind]*kindStats) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "KIND\tDUMPS\tOBJECTS\tCHUNKS\tINTERRUPTED\tATTEMPTS\tTIME/DUMP\t")
	for _, k := range kinds {
		s := stats[k]
		if s == nil || s.dumps == 0 {
			continue
		}
		fmt.Fprintf(tw, "%v\t%d\t%.1f\t%.1f\t%d (%.1f%%)\t%d\t%v\t\n", k, s.dumps,
			float64(s.objects)/float64(s.dumps), float64(s.chunks)/float64(s.dumps),
			s.interruptedAttempts(), 100*float64(s.interruptedAttempts())/float64(s.attempts),
			s.attempts, (s.elapsed / time.Duration(s.attempts)).Round(time.Microsecond))
	}
	tw.Flush()
}

// record is one dump as --json prints it.
type record struct {
	Kind             nlclient.Kind `json:"kind"`
	Seq              uint32        `json:"seq"`
	PortID           uint32        `json:"port_id"`
	NetNSInode       uint64        `json:"netns_inode"`
	Start            time.Time     `json:"start"`
	DurationNS       int64         `json:"duration_ns"`
	Objects          int           `json:"objects"`
	Chunks           int           `json:"chunks"`
	Bytes            int           `json:"bytes"`
	Interrupted      bool          `json:"interrupted"`
	FirstInterrupted int           `json:"first_interrupted_chunk,omitempty"`
	DoneInterrupted  bool          `json:"done_interrupted,omitempty"`
	Attempts         int           `json:"attempts"`
	Error            string        `json:"error,omitempty"`
}

func dumpRecord(r *nlclient.Result, err error) record {
	rec := record{
		Kind: r.Kind, Seq: r.Seq, PortID: r.PortID, NetNSInode: r.NetNSInode, Start: r.Start,
		DurationNS: int64(r.Duration), Objects: len(r.Objects), Chunks: len(r.Chunks), Bytes: r.Bytes(),
		Interrupted: r.Interrupted(), FirstInterrupted: r.FirstInterrupted, DoneInterrupted: r.DoneInterrupted,
		Attempts: r.Attempt,
	}
	if err != nil {
		rec.Error = err.Error()
	}
	return rec
}
