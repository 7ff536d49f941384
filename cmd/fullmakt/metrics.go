package main

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fullmakt/fullmakt/authz"
)

// metrics is the server's own Prometheus registry (never the global default one, so
// two servers in one test process do not collide) and the HTTP metrics.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec

	decisions        *prometheus.CounterVec
	decisionDuration prometheus.Histogram
	policyErrors     prometheus.Counter
	packReloads      *prometheus.CounterVec
	packVersion      *prometheus.GaugeVec
	clientsReloads   *prometheus.CounterVec
}

func newMetrics() (*metrics, error) {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests served, by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
	}
	m.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fullmakt_decisions_total",
		Help: "Authorization decisions, by result (allow, deny, step_up) and the relation that permitted.",
	}, []string{"result", "relation"})
	m.decisionDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "fullmakt_decision_duration_seconds",
		Help:    "Time to gather the facts and decide, in process (without HTTP).",
		Buckets: prometheus.ExponentialBuckets(5e-6, 2, 14), // 5 µs to 41 ms
	})
	m.policyErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "fullmakt_policy_errors_total",
		Help: "Policies that failed to evaluate (each made its decision a deny); the log names them.",
	})
	m.packReloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fullmakt_policy_pack_reloads_total",
		Help: "Changes of the --policies folder, by result: loaded or rejected.",
	}, []string{"result"})
	m.clientsReloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fullmakt_oauth_clients_reloads_total",
		Help: "Changes of the OAuth clients file, by result: loaded or rejected.",
	}, []string{"result"})
	m.packVersion = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "fullmakt_policy_pack_info",
		Help: "The policy pack in use: 1 for its version.",
	}, []string{"version"})
	for _, c := range []prometheus.Collector{
		m.decisions, m.decisionDuration, m.policyErrors, m.packReloads, m.packVersion, m.clientsReloads,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
		m.requests,
		m.duration,
	} {
		if err := m.registry.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) observe(route string, status int, elapsed time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(elapsed.Seconds())
}

// observeDecision counts a decision (pdp.Options.Observe).
func (m *metrics) observeDecision(d authz.Decision, elapsed time.Duration) {
	result, relation := "deny", ""
	switch {
	case d.Allow:
		result, relation = "allow", string(d.Relation.Kind)
	case d.StepUp != nil:
		result = "step_up"
	}
	m.decisions.WithLabelValues(result, relation).Inc()
	m.decisionDuration.Observe(elapsed.Seconds())
	if len(d.Errors) > 0 {
		m.policyErrors.Add(float64(len(d.Errors)))
	}
}

// packInUse records the version of the pack now deciding.
func (m *metrics) packInUse(version string) {
	m.packVersion.Reset()
	m.packVersion.WithLabelValues(version).Set(1)
}

// queueGauge exposes the decision log's queue length.
func (m *metrics) queueGauge(queued func() int) error {
	return m.registry.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "fullmakt_decision_log_queue",
		Help: "Decision-log events waiting to be written.",
	}, func() float64 { return float64(queued()) }))
}

// handler serves the registry in the Prometheus exposition format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}
