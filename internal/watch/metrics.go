package watch

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the Prometheus series a watch serves. Labels name process
// names (comm), never ids, and at most maxDumpers of each role (dumpers,
// writers), so that a host's series stay bounded.
type metrics struct {
	reg         *prometheus.Registry
	dumps       *prometheus.CounterVec
	interrupted *prometheus.CounterVec
	explained   *prometheus.CounterVec
	culprits    *prometheus.CounterVec
	writers     *prometheus.CounterVec
	drops       prometheus.Counter
	joinDrops   *prometheus.CounterVec
	// The process names given out as label values, dumpers' and
	// writers' apart: a host's many writers must not push its dumpers
	// into otherComm.
	dumperComms, writerComms labelSet
}

// labelSet bounds a label's values: past maxDumpers names, others are
// counted as otherComm.
type labelSet map[string]bool

func (l labelSet) value(c string) string {
	if l[c] {
		return c
	}
	if len(l) >= maxDumpers {
		return otherComm
	}
	l[c] = true
	return c
}

func newMetrics(backend, hooks string) *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), dumperComms: labelSet{}, writerComms: labelSet{}}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "nltrace", Name: name, Help: help}, labels)
		m.reg.MustRegister(c)
		return c
	}
	m.dumps = counter("dumps_total", "rtnetlink dumps seen, by kind and dumping process name.", "kind", "comm")
	m.interrupted = counter("interrupted_dumps_total", "Dumps the kernel flagged NLM_F_DUMP_INTR.", "kind", "comm")
	m.explained = counter("explained_dumps_total", "Interrupted dumps whose every flag has its writers named.", "kind", "comm")
	m.culprits = counter("interruptions_total",
		"Interrupted dumps by the process (or kernel) that moved the counter; a dump counts once per culprit.",
		"kind", "dumper_comm", "culprit_comm")
	m.writers = counter("writer_operations_total", "Changes that bumped a generation counter, by operation and process name.", "op", "comm")
	m.joinDrops = counter("join_dropped_events_total", "Events the join dropped to stay within its memory bounds.", "event")
	m.drops = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "nltrace", Name: "ring_buffer_drops_total",
		Help: "Kernel events lost for want of room in the ring buffer (and notification overruns of the tracepoint backend)."})
	m.reg.MustRegister(m.drops)
	info := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "nltrace", Name: "backend_info",
		Help: "The probe's backend and, for tracepoints, its design.", ConstLabels: prometheus.Labels{"backend": backend, "hooks": hooks}})
	info.Set(1)
	m.reg.MustRegister(info)
	return m
}

// serve serves the metrics on ln until ctx ends.
func (m *metrics) serve(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
