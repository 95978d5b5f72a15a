package report

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/nltrace/nltrace/internal/repro"
	"github.com/nltrace/nltrace/nlclient"
)

// Record is one line of the streaming output (--json-lines): one JSON
// object per line, whose Type names the one section it carries. A run
// writes a "dump" record per dump and an "exec_run" record per run of the
// user's program as they end, then one "report" record, the same document
// --json prints. docs/report.schema.json describes every record.
type Record struct {
	Type    string      `json:"type"`
	Dump    *DumpRecord `json:"dump,omitempty"`
	ExecRun *ExecRecord `json:"exec_run,omitempty"`
	Report  *Report     `json:"report,omitempty"`
}

// Record types.
const (
	TypeDump    = "dump"
	TypeExecRun = "exec_run"
	TypeReport  = "report"
)

// DumpRecord is one dump: its last attempt, and how many it took.
type DumpRecord struct {
	Dumper int           `json:"dumper"`
	Kind   nlclient.Kind `json:"kind"`
	// Seq, PortID and NetNSInode join the dump to the kernel's view of it.
	Seq        uint32    `json:"seq"`
	PortID     uint32    `json:"port_id"`
	NetNSInode uint64    `json:"netns_inode"`
	Start      time.Time `json:"start"`
	Duration   float64   `json:"duration_s"`
	Objects    int       `json:"objects"`
	Chunks     int       `json:"chunks"`
	Bytes      int       `json:"bytes"`
	// Interrupted says whether the last attempt carried the flag, and
	// where it first landed (0: only on NLMSG_DONE).
	Interrupted      bool `json:"interrupted"`
	FirstInterrupted int  `json:"first_interrupted_chunk,omitempty"`
	DoneInterrupted  bool `json:"done_interrupted,omitempty"`
	Attempts         int  `json:"attempts"`
	// Missing and Repeated count stable objects the dump missed or
	// returned twice (present when the run knows its stable objects).
	Missing  *int `json:"missing,omitempty"`
	Repeated *int `json:"repeated,omitempty"`
	// InjectionMade says whether the injected change was made in this dump
	// (present with an injected change).
	InjectionMade *bool `json:"injection_made,omitempty"`
}

// ExecRecord is one run of the user's program.
type ExecRecord struct {
	Start    time.Time `json:"start"`
	Duration float64   `json:"duration_s"`
	ExitCode int       `json:"exit_code"` // -1 when a signal ended it
	Signal   string    `json:"signal,omitempty"`
	TimedOut bool      `json:"timed_out,omitempty"`
	// CutShort says the program was still running when the run ended, and
	// was killed then.
	CutShort bool     `json:"cut_short,omitempty"`
	Symptoms []string `json:"symptoms,omitempty"`
}

func dumpRecord(d repro.Dump) *DumpRecord {
	r := d.Result
	rec := &DumpRecord{
		Dumper: d.Dumper, Kind: r.Kind, Seq: r.Seq, PortID: r.PortID, NetNSInode: r.NetNSInode, Start: r.Start,
		Duration: r.Duration.Seconds(), Objects: len(r.Objects), Chunks: len(r.Chunks), Bytes: r.Bytes(),
		Interrupted: r.Interrupted(), FirstInterrupted: r.FirstInterrupted, DoneInterrupted: r.DoneInterrupted,
		Attempts: r.Attempt,
	}
	if c := d.Consistency; c != nil {
		missing, repeated := len(c.Missing), len(c.Repeated)
		rec.Missing, rec.Repeated = &missing, &repeated
	}
	if d.Injection != nil {
		rec.InjectionMade = &d.Injection.Made
	}
	return rec
}

func execRecord(r repro.ExecRun) *ExecRecord {
	return &ExecRecord{Start: r.Start, Duration: r.Duration.Seconds(), ExitCode: r.ExitCode, Signal: r.Signal,
		TimedOut: r.TimedOut, CutShort: r.CutShort, Symptoms: r.Symptoms}
}

// Lines writes records, one JSON object per line. Its methods may be
// called from several goroutines; a write error is kept and returned by
// every later call.
type Lines struct {
	mu  sync.Mutex
	enc *json.Encoder
	err error
}

// NewLines writes records to w.
func NewLines(w io.Writer) *Lines { return &Lines{enc: json.NewEncoder(w)} }

func (l *Lines) write(r Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = l.enc.Encode(r)
	}
	return l.err
}

// Dump writes a dump record.
func (l *Lines) Dump(d repro.Dump) error { return l.write(Record{Type: TypeDump, Dump: dumpRecord(d)}) }

// ExecRun writes a record of one run of the user's program.
func (l *Lines) ExecRun(r repro.ExecRun) error {
	return l.write(Record{Type: TypeExecRun, ExecRun: execRecord(r)})
}

// Report writes the closing report record.
func (l *Lines) Report(r *Report) error { return l.write(Record{Type: TypeReport, Report: r}) }
