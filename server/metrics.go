package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"tally/app/commission"
)

// durationBuckets are the request duration histogram's upper bounds, in
// seconds: from a cached read to a slow commit.
var durationBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Results of a submission, for tally_submissions_total.
const (
	resultNew      = "new"
	resultRepeat   = "repeat"
	resultConflict = "conflict"
	resultRefused  = "refused"
)

// metricsRegistry is the server's own Prometheus registry: nothing is
// global, so that two servers in one process (tests) keep apart.
type metricsRegistry struct {
	registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	durations   *prometheus.HistogramVec
	submissions *prometheus.CounterVec
	handler     http.Handler
}

func newMetrics(svc *commission.Service) *metricsRegistry {
	m := &metricsRegistry{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tally_http_requests_total",
			Help: "HTTP requests answered, by route and status."}, []string{"route", "status"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tally_http_request_duration_seconds",
			Help: "Time to answer an HTTP request, by route.", Buckets: durationBuckets}, []string{"route"}),
		submissions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tally_submissions_total",
			Help: "Submissions received, by result: new, repeat, conflict, refused."}, []string{"result"}),
	}
	for _, r := range []string{resultNew, resultRepeat, resultConflict, resultRefused} {
		m.submissions.WithLabelValues(r)
	}
	m.registry.MustRegister(m.requests, m.durations, m.submissions, &storeCollector{svc: svc},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
	return m
}

func (m *metricsRegistry) observe(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.durations.WithLabelValues(route).Observe(d.Seconds())
}

func (m *metricsRegistry) submission(result string) { m.submissions.WithLabelValues(result).Inc() }

// serveMetrics answers a scrape.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	s.metrics.handler.ServeHTTP(w, r)
	return nil
}

// storeCollector reads the store's running totals at each scrape, if the
// store answers soon.
type storeCollector struct{ svc *commission.Service }

var storedDesc = prometheus.NewDesc("tally_stored", "What the store holds, by kind.", []string{"what"}, nil)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- storedDesc }

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.svc.StoreCounts(ctx)
	if err != nil {
		return
	}
	for _, g := range []struct {
		what string
		n    int
	}{{"keys", counts.Keys}, {"revoked_keys", counts.Revoked}, {"submissions", counts.Submissions},
		{"conflicts", counts.Conflicts}, {"decisions", counts.Decisions}, {"attachments", counts.Attachments}} {
		ch <- prometheus.MustNewConstMetric(storedDesc, prometheus.GaugeValue, float64(g.n), g.what)
	}
}
