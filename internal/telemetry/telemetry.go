// Package telemetry exposes spotcheck's Prometheus metrics: the Go runtime,
// the process, the database pool, HTTP requests and the Temporal SDK.
package telemetry

import (
	"database/sql"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.temporal.io/sdk/client"
)

// NewRegistry returns a registry with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// RegisterDB adds the connection-pool statistics of db.
func RegisterDB(r prometheus.Registerer, db *sql.DB) error {
	return r.Register(collectors.NewDBStatsCollector(db, "spotcheck"))
}

// TemporalHandler implements the SDK's client.MetricsHandler on Prometheus.
//
// Prometheus needs a fixed label set per metric while the SDK attaches tags
// freely, so the first use of a metric fixes its labels: later uses fill
// missing labels with "" and drop extra ones.
type TemporalHandler struct {
	reg  prometheus.Registerer
	tags map[string]string
	vecs *vecs
}

type vecs struct {
	mu       sync.Mutex
	counters map[string]*prometheus.CounterVec
	gauges   map[string]*prometheus.GaugeVec
	timers   map[string]*prometheus.HistogramVec
	labels   map[string][]string
}

var _ client.MetricsHandler = (*TemporalHandler)(nil)

// NewTemporalHandler registers Temporal SDK metrics on reg as they appear.
func NewTemporalHandler(reg prometheus.Registerer) *TemporalHandler {
	return &TemporalHandler{reg: reg, tags: map[string]string{}, vecs: &vecs{
		counters: map[string]*prometheus.CounterVec{},
		gauges:   map[string]*prometheus.GaugeVec{},
		timers:   map[string]*prometheus.HistogramVec{},
		labels:   map[string][]string{},
	}}
}

// WithTags returns a handler whose metrics carry tags in addition to the
// existing ones.
func (h *TemporalHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	for k, v := range h.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[k] = v
	}
	return &TemporalHandler{reg: h.reg, tags: merged, vecs: h.vecs}
}

// Counter returns the counter name with this handler's tags.
func (h *TemporalHandler) Counter(name string) client.MetricsCounter {
	h.vecs.mu.Lock()
	defer h.vecs.mu.Unlock()
	v, ok := h.vecs.counters[name]
	if !ok {
		v = prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: "Temporal SDK counter " + name}, h.fix(name))
		v = register(h.reg, v)
		h.vecs.counters[name] = v
	}
	c := v.With(h.labelValues(name))
	return counterFunc(func(d int64) { c.Add(float64(d)) })
}

// Gauge returns the gauge name with this handler's tags.
func (h *TemporalHandler) Gauge(name string) client.MetricsGauge {
	h.vecs.mu.Lock()
	defer h.vecs.mu.Unlock()
	v, ok := h.vecs.gauges[name]
	if !ok {
		v = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: "Temporal SDK gauge " + name}, h.fix(name))
		v = register(h.reg, v)
		h.vecs.gauges[name] = v
	}
	return gaugeFunc(v.With(h.labelValues(name)).Set)
}

// Timer returns the timer name, recorded as a histogram in seconds.
func (h *TemporalHandler) Timer(name string) client.MetricsTimer {
	h.vecs.mu.Lock()
	defer h.vecs.mu.Unlock()
	v, ok := h.vecs.timers[name]
	if !ok {
		v = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name + "_seconds", Help: "Temporal SDK timer " + name, Buckets: prometheus.DefBuckets}, h.fix(name))
		v = register(h.reg, v)
		h.vecs.timers[name] = v
	}
	o := v.With(h.labelValues(name))
	return timerFunc(func(d time.Duration) { o.Observe(d.Seconds()) })
}

// fix records and returns the label names of a metric on its first use.
func (h *TemporalHandler) fix(name string) []string {
	keys := make([]string, 0, len(h.tags))
	for k := range h.tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h.vecs.labels[name] = keys
	return keys
}

func (h *TemporalHandler) labelValues(name string) prometheus.Labels {
	l := prometheus.Labels{}
	for _, k := range h.vecs.labels[name] {
		l[k] = h.tags[k]
	}
	return l
}

// register adds c to reg, or returns the collector already registered under
// the same description (two handlers sharing one registry).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

type gaugeFunc func(float64)

func (f gaugeFunc) Update(v float64) { f(v) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }
