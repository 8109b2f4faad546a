package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The metrics are written in the Prometheus text exposition format
// (version 0.0.4) by this small registry of the server's own, rather than
// by github.com/prometheus/client_golang: go.sum does not hold the sums of
// that module's dependencies (client_model, common, procfs, protobuf,
// perks, xxhash), and the server may not change go.sum. Each Server has
// its own registry: nothing is global.

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

type metricsRegistry struct {
	mu          sync.Mutex
	requests    map[[2]string]uint64 // route, status
	durations   map[string]*histogram
	submissions map[string]uint64
	started     time.Time
}

type histogram struct {
	counts []uint64 // per bucket, not cumulative
	sum    float64
	count  uint64
}

func newMetrics(routes []string) *metricsRegistry {
	m := &metricsRegistry{requests: map[[2]string]uint64{}, durations: map[string]*histogram{},
		submissions: map[string]uint64{resultNew: 0, resultRepeat: 0, resultConflict: 0, resultRefused: 0},
		started:     time.Now()}
	for _, r := range routes {
		m.durations[r] = &histogram{counts: make([]uint64, len(durationBuckets))}
	}
	return m
}

func (m *metricsRegistry) observe(route string, status int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[[2]string{route, strconv.Itoa(status)}]++
	h := m.durations[route]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(durationBuckets))}
		m.durations[route] = h
	}
	sec := d.Seconds()
	if i, _ := slices.BinarySearch(durationBuckets, sec); i < len(durationBuckets) {
		h.counts[i]++
	}
	h.sum += sec
	h.count++
}

func (m *metricsRegistry) submission(result string) {
	m.mu.Lock()
	m.submissions[result]++
	m.mu.Unlock()
}

// serveMetrics answers a scrape.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	bw := bufio.NewWriter(w)
	s.metrics.write(bw)
	s.writeStoreGauges(r.Context(), bw)
	writeRuntimeMetrics(bw, s.metrics.started)
	return bw.Flush()
}

func (m *metricsRegistry) write(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()

	header(w, "tally_http_requests_total", "counter", "HTTP requests answered, by route and status.")
	keys := make([][2]string, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int { return strings.Compare(a[0]+" "+a[1], b[0]+" "+b[1]) })
	for _, k := range keys {
		fmt.Fprintf(w, "tally_http_requests_total{route=%s,status=%s} %d\n", label(k[0]), label(k[1]), m.requests[k])
	}

	header(w, "tally_http_request_duration_seconds", "histogram", "Time to answer an HTTP request, by route.")
	routes := make([]string, 0, len(m.durations))
	for r := range m.durations {
		routes = append(routes, r)
	}
	slices.Sort(routes)
	for _, r := range routes {
		h := m.durations[r]
		var cum uint64
		for i, le := range durationBuckets {
			cum += h.counts[i]
			fmt.Fprintf(w, "tally_http_request_duration_seconds_bucket{route=%s,le=\"%s\"} %d\n", label(r),
				strconv.FormatFloat(le, 'g', -1, 64), cum)
		}
		fmt.Fprintf(w, "tally_http_request_duration_seconds_bucket{route=%s,le=\"+Inf\"} %d\n", label(r), h.count)
		fmt.Fprintf(w, "tally_http_request_duration_seconds_sum{route=%s} %s\n", label(r), float(h.sum))
		fmt.Fprintf(w, "tally_http_request_duration_seconds_count{route=%s} %d\n", label(r), h.count)
	}

	header(w, "tally_submissions_total", "counter", "Submissions received, by result: new, repeat, conflict, refused.")
	for _, res := range []string{resultNew, resultRepeat, resultConflict, resultRefused} {
		fmt.Fprintf(w, "tally_submissions_total{result=%s} %d\n", label(res), m.submissions[res])
	}
}

// writeStoreGauges writes the store's running totals, if it answers soon.
func (s *Server) writeStoreGauges(ctx context.Context, w io.Writer) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := s.svc.StoreCounts(ctx)
	if err != nil {
		return
	}
	header(w, "tally_stored", "gauge", "What the store holds, by kind.")
	for _, g := range []struct {
		what string
		n    int
	}{{"keys", c.Keys}, {"revoked_keys", c.Revoked}, {"submissions", c.Submissions}, {"conflicts", c.Conflicts},
		{"decisions", c.Decisions}, {"attachments", c.Attachments}} {
		fmt.Fprintf(w, "tally_stored{what=%s} %d\n", label(g.what), g.n)
	}
}

// runtimeSamples are the Go runtime's metrics the scrape shows.
var runtimeSamples = []struct{ name, runtime, kind, help string }{
	{"go_memstats_heap_alloc_bytes", "/memory/classes/heap/objects:bytes", "gauge", "Bytes of allocated heap objects."},
	{"go_memstats_sys_bytes", "/memory/classes/total:bytes", "gauge", "Bytes of memory mapped by the Go runtime."},
	{"go_gc_cycles_total", "/gc/cycles/total:gc-cycles", "counter", "Completed GC cycles."},
	{"go_sched_gomaxprocs_threads", "/sched/gomaxprocs:threads", "gauge", "GOMAXPROCS."},
}

// writeRuntimeMetrics writes the Go and process metrics that
// client_golang's Go and process collectors are best known for.
func writeRuntimeMetrics(w io.Writer, started time.Time) {
	header(w, "go_info", "gauge", "The Go version tallyd was built with.")
	fmt.Fprintf(w, "go_info{version=%s} 1\n", label(runtime.Version()))
	header(w, "go_goroutines", "gauge", "Goroutines that currently exist.")
	fmt.Fprintf(w, "go_goroutines %d\n", runtime.NumGoroutine())

	samples := make([]metrics.Sample, len(runtimeSamples))
	for i, rs := range runtimeSamples {
		samples[i].Name = rs.runtime
	}
	metrics.Read(samples)
	for i, rs := range runtimeSamples {
		var v float64
		switch samples[i].Value.Kind() {
		case metrics.KindUint64:
			v = float64(samples[i].Value.Uint64())
		case metrics.KindFloat64:
			v = samples[i].Value.Float64()
		default:
			continue
		}
		header(w, rs.name, rs.kind, rs.help)
		fmt.Fprintf(w, "%s %s\n", rs.name, float(v))
	}

	header(w, "process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch, in seconds.")
	fmt.Fprintf(w, "process_start_time_seconds %s\n", float(float64(started.UnixNano())/1e9))
	writeProcStat(w)
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		header(w, "process_open_fds", "gauge", "Open file descriptors.")
		fmt.Fprintf(w, "process_open_fds %d\n", len(fds))
	}
}

// writeProcStat writes CPU time and memory from /proc/self/stat, where
// there is one (Linux).
func writeProcStat(w io.Writer) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return
	}
	// The command name, in parentheses, may hold spaces: count fields
	// after its closing parenthesis.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return
	}
	f := strings.Fields(string(b[i+1:]))
	// After the name: state(3) … utime(14) stime(15) … vsize(23) rss(24).
	field := func(n int) (float64, bool) {
		if n-3 >= len(f) {
			return 0, false
		}
		v, err := strconv.ParseFloat(f[n-3], 64)
		return v, err == nil
	}
	const userHZ = 100 // the kernel's USER_HZ, 100 on every Linux tallyd runs on
	if ut, ok := field(14); ok {
		if st, ok := field(15); ok {
			header(w, "process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.")
			fmt.Fprintf(w, "process_cpu_seconds_total %s\n", float((ut+st)/userHZ))
		}
	}
	if vs, ok := field(23); ok {
		header(w, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.")
		fmt.Fprintf(w, "process_virtual_memory_bytes %s\n", float(vs))
	}
	if rss, ok := field(24); ok {
		header(w, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
		fmt.Fprintf(w, "process_resident_memory_bytes %s\n", float(rss*float64(os.Getpagesize())))
	}
}

func header(w io.Writer, name, kind, help string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, kind)
}

// label quotes a label value as the text format wants it.
func label(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(v) + `"`
}

func float(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
