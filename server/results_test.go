package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/commission"
	"tally/app/election"
	"tally/app/enrollment"
	"tally/app/publish"
	"tally/server"
)

const publicationSeed = 3

// publisherClock is the publisher's clock in these tests: it moves only
// when publishNow moves it past the publisher's interval.
type publisherClock struct{ now time.Time }

func (c *publisherClock) Now() time.Time { return c.now }

// withResults gives the server a publisher over its own store (snapshots
// made when the test calls publishNow) and a page of two files.
func withResults(pub **publish.Publisher, clock *publisherClock, retain int, rate server.Rate) func(*server.Config) {
	return func(cfg *server.Config) {
		ctx := context.Background()
		def, err := cfg.Service.Definition(ctx)
		if err != nil {
			panic(err)
		}
		clock.now = time.Date(2026, 12, 20, 20, 0, 0, 0, time.UTC)
		p, err := publish.NewPublisher(ctx, publish.Options{Definition: def, Key: seededKey(nil, publicationSeed),
			Source: publish.ServiceSource(cfg.Service), Archive: publish.ServiceArchive(cfg.Service),
			Retain: retain, MinInterval: time.Second, Now: clock.Now})
		if err != nil {
			panic(err)
		}
		*pub = p
		cfg.Publisher = p
		cfg.PublicRate = rate
		cfg.Page = fstest.MapFS{
			"index.html": {Data: []byte("<!doctype html><title>results</title>")},
			"app.js":     {Data: []byte("console.log('results')")},
		}
	}
}

func publishNow(t *testing.T, p *publish.Publisher, clock *publisherClock) *publish.Published {
	t.Helper()
	p.Changed()
	wait, due := p.Wait()
	require.True(t, due)
	clock.now = clock.now.Add(wait)
	got, err := p.Publish(context.Background())
	require.NoError(t, err)
	require.NotNil(t, got, "no new snapshot")
	return got
}

func TestResults(t *testing.T) {
	var pub *publish.Publisher
	clock := &publisherClock{}
	f := newFixture(t, withResults(&pub, clock, 1, server.Rate{PerSecond: 1000, Burst: 10000}))

	t.Run("NothingYet", func(t *testing.T) {
		res := f.do("GET", "/v1/results/latest.json", nil, nil)
		require.Equal(t, http.StatusNotFound, res.status)
		assert.Equal(t, "not-found", res.kind(t))
		assert.Equal(t, http.StatusNotFound, f.do("GET", "/v1/results/1/summary.json", nil, nil).status)
	})

	st := f.station(0, 0)
	key := f.enroll(enrollment.RoleStation, st.Code, 10)
	form := f.form(st, 1)
	env := f.seal(form, key, 1, "")
	require.Equal(t, http.StatusCreated, f.submit(env).status)
	first := publishNow(t, pub, clock)
	require.Equal(t, uint64(1), first.Number)

	var summaryETag string
	t.Run("OKLatestAndSummary", func(t *testing.T) {
		res := f.do("GET", "/v1/results/latest.json", nil, nil)
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		assert.Equal(t, "public, max-age=2", res.header.Get("Cache-Control"))
		var latest publish.Latest
		res.json(t, &latest)
		assert.Equal(t, uint64(1), latest.Number)
		assert.Equal(t, first.Digest, latest.Digest)

		res = f.do("GET", "/v1/results/"+latest.Summary, nil, headers{"Accept-Encoding": "gzip"})
		require.Equal(t, http.StatusOK, res.status)
		assert.Equal(t, "gzip", res.header.Get("Content-Encoding"))
		assert.Equal(t, "public, max-age=31536000, immutable", res.header.Get("Cache-Control"))
		assert.Equal(t, "*", res.header.Get("Access-Control-Allow-Origin"))
		zr, err := gzip.NewReader(bytes.NewReader(res.body))
		require.NoError(t, err)
		plain, err := io.ReadAll(zr)
		require.NoError(t, err)
		var sum publish.Summary
		require.NoError(t, json.Unmarshal(plain, &sum))
		assert.Equal(t, first.Digest, sum.SnapshotDigest)
		assert.Equal(t, 1, sum.Reported.Reported)
		var contest *publish.SummaryContest
		for i := range sum.Contests {
			if sum.Contests[i].Contest == st.Forms[0].Contest {
				contest = &sum.Contests[i]
			}
		}
		require.NotNil(t, contest)
		assert.Equal(t, form.Counts["H"], contest.National.Valid)
		summaryETag = res.header.Get("ETag")
		assert.NotEmpty(t, summaryETag)

		plainRes := f.do("GET", "/v1/results/1/summary.json?nocache=12345", nil, headers{"Accept-Encoding": "identity"})
		require.Equal(t, http.StatusOK, plainRes.status)
		assert.Empty(t, plainRes.header.Get("Content-Encoding"))
		assert.Equal(t, plain, plainRes.body)
		assert.Equal(t, summaryETag, plainRes.header.Get("ETag"))
	})

	t.Run("OKNotModified", func(t *testing.T) {
		res := f.do("GET", "/v1/results/1/summary.json", nil, headers{"If-None-Match": `"other", ` + summaryETag})
		assert.Equal(t, http.StatusNotModified, res.status)
		assert.Empty(t, res.body)
		res = f.do("GET", "/v1/results/1/summary.json", nil, headers{"If-None-Match": `"other"`})
		assert.Equal(t, http.StatusOK, res.status)
	})

	t.Run("OKSnapshotAndFiles", func(t *testing.T) {
		res := f.do("GET", "/v1/results/1/snapshot.json", nil, headers{"Accept-Encoding": "identity"})
		require.Equal(t, http.StatusOK, res.status)
		assert.Equal(t, first.Sealed, res.body)
		m := f.do("GET", "/v1/results/"+publish.MunicipalityPath(1, st.Municipality), nil, headers{"Accept-Encoding": "identity"})
		require.Equal(t, http.StatusOK, m.status)
		var view publish.MunicipalityView
		m.json(t, &view)
		require.Len(t, view.Forms, 1)
		assert.Equal(t, digest(env), view.Forms[0].Digest)
		stations, _ := publish.CSVPaths(1, st.Forms[0].Contest)
		c := f.do("GET", "/v1/results/"+stations, nil, headers{"Accept-Encoding": "identity"})
		require.Equal(t, http.StatusOK, c.status)
		assert.Equal(t, "text/csv; charset=utf-8", c.header.Get("Content-Type"))
		assert.Contains(t, string(c.body), digest(env))
	})

	t.Run("BadPaths", func(t *testing.T) {
		for path, want := range map[string]int{
			"/v1/results/2/summary.json":           http.StatusNotFound,
			"/v1/results/1/nothing.json":           http.StatusNotFound,
			"/v1/results/1/municipalities/99.json": http.StatusNotFound,
			"/v1/results/0/summary.json":           http.StatusBadRequest,
			"/v1/results/x/summary.json":           http.StatusBadRequest,
			"/v1/results/1/a/b/c/d.json":           http.StatusBadRequest,
			"/v1/results/1/../summary.json":        http.StatusBadRequest,
			"/results/../v1/keys":                  http.StatusBadRequest,
			"/results/nothing.js":                  http.StatusNotFound,
		} {
			res := f.do("GET", path, nil, nil)
			assert.Equal(t, want, res.status, path)
			res.problem(t)
		}
		res := f.do("POST", "/v1/results/latest.json", nil, nil)
		assert.Equal(t, http.StatusMethodNotAllowed, res.status)
	})

	t.Run("OKFromTheArchive", func(t *testing.T) {
		// A decision changes what is counted: snapshot 2. Only one is
		// kept in memory, so snapshot 1 comes back from the database.
		sup := f.enroll(enrollment.RoleSupervisor, st.Municipality, 40)
		d := f.decision(st, digest(env), election.Approve, "", sup)
		require.Equal(t, http.StatusCreated, f.do("PUT", "/v1/decisions/"+digest(d), d, jsonType).status)
		second := publishNow(t, pub, clock)
		require.Equal(t, uint64(2), second.Number)
		_, kept := pub.Kept(1)
		require.False(t, kept)

		res := f.do("GET", "/v1/results/1/summary.json", nil, nil)
		require.Equal(t, http.StatusOK, res.status)
		assert.Equal(t, summaryETag, res.header.Get("ETag"))
		res = f.do("GET", "/v1/results/1/snapshot.json", nil, headers{"Accept-Encoding": "identity"})
		assert.Equal(t, first.Sealed, res.body)
		var latest publish.Latest
		f.do("GET", "/v1/results/latest.json", nil, nil).json(t, &latest)
		assert.Equal(t, uint64(2), latest.Number)
	})

	t.Run("OKPage", func(t *testing.T) {
		res := f.do("GET", "/results/", nil, nil)
		require.Equal(t, http.StatusOK, res.status)
		assert.Equal(t, "text/html; charset=utf-8", res.header.Get("Content-Type"))
		assert.Contains(t, string(res.body), "<title>results</title>")
		res = f.do("GET", "/results/app.js", nil, nil)
		assert.Equal(t, "text/javascript; charset=utf-8", res.header.Get("Content-Type"))

		req, err := http.NewRequest("GET", f.ts.URL+"/", nil)
		require.NoError(t, err)
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		r, err := noFollow.Do(req)
		require.NoError(t, err)
		r.Body.Close()
		assert.Equal(t, http.StatusFound, r.StatusCode)
		assert.Equal(t, "/results/", r.Header.Get("Location"))
	})
}

func TestResultsRateLimit(t *testing.T) {
	var pub *publish.Publisher
	f := newFixture(t, withResults(&pub, &publisherClock{}, 0, server.Rate{PerSecond: 1, Burst: 3}))
	for range 3 {
		assert.Equal(t, http.StatusOK, f.do("GET", "/results/", nil, nil).status)
	}
	res := f.do("GET", "/results/app.js", nil, nil)
	require.Equal(t, http.StatusTooManyRequests, res.status)
	assert.Equal(t, "rate-limited", res.kind(t))
	assert.NotEmpty(t, res.header.Get("Retry-After"))
	// The API's own rate is apart: the public one does not spend it.
	assert.Equal(t, http.StatusOK, f.do("GET", "/v1/election", nil, nil).status)
}

// countingStore counts the transactions that reach the database.
type countingStore struct {
	commission.Store
	reads, writes atomic.Int64
}

func (c *countingStore) View(ctx context.Context, fn func(commission.Reader) error) error {
	c.reads.Add(1)
	return c.Store.View(ctx, fn)
}

func (c *countingStore) Update(ctx context.Context, fn func(commission.Tx) error) error {
	c.writes.Add(1)
	return c.Store.Update(ctx, fn)
}

// TestResultsFloodStaysInMemory sends a crowd's cache-busting requests:
// distinct query strings, numbers not published, files that do not exist,
// the page. None reaches the database.
func TestResultsFloodStaysInMemory(t *testing.T) {
	var pub *publish.Publisher
	clock := &publisherClock{}
	f := newFixture(t, withResults(&pub, clock, 2, server.Rate{PerSecond: 1e6, Burst: 1e6}))
	st := f.station(0, 0)
	key := f.enroll(enrollment.RoleStation, st.Code, 10)
	require.Equal(t, http.StatusCreated, f.submit(f.seal(f.form(st, 1), key, 1, "")).status)
	publishNow(t, pub, clock)

	// The same store and publisher behind a server whose service counts
	// what reaches the database.
	store := &countingStore{Store: f.store}
	svcCounting := commission.New(store, commission.Options{ReceiptKey: seededKey(t, receiptSeed)})
	t.Cleanup(svcCounting.Close)
	cfg := f.cfg
	cfg.Service = svcCounting
	srv, err := server.New(cfg)
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	reads0, writes0 := store.reads.Load(), store.writes.Load()

	paths := []string{}
	for i := range 200 {
		paths = append(paths,
			fmt.Sprintf("/v1/results/latest.json?t=%d", i),
			fmt.Sprintf("/v1/results/1/summary.json?cb=%d", i),
			fmt.Sprintf("/v1/results/%d/summary.json", 2+i),
			fmt.Sprintf("/v1/results/1/municipalities/X%d.json", i),
			fmt.Sprintf("/results/?v=%d", i))
	}
	statuses := map[int]int{}
	for _, p := range paths {
		res, err := ts.Client().Get(ts.URL + p)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		statuses[res.StatusCode]++
	}
	assert.Equal(t, map[int]int{http.StatusOK: 600, http.StatusNotFound: 400}, statuses)
	assert.Equal(t, reads0, store.reads.Load(), "reads of the database")
	assert.Equal(t, writes0, store.writes.Load(), "writes to the database")
}

// TestServiceSourceTold holds what publication counts of a submission as
// ingest handed it over (parsed once, its envelope never read back) to
// what it counts of the same submission read from the store, as another
// node would read it.
func TestServiceSourceTold(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	told := publish.ServiceSource(f.svc)
	for i := 0; i < 2; i++ {
		st := f.station(0, i)
		key := f.enroll(enrollment.RoleStation, st.Code, byte(20+i))
		v1 := f.seal(f.form(st, 1), key, 1, "")
		require.Equal(t, http.StatusCreated, f.submit(v1).status)
		v2 := f.form(st, 2)
		v2.PhotoSHA256 = digest([]byte("the photo of " + st.Code))
		require.Equal(t, http.StatusCreated, f.submit(f.seal(v2, key, 2, digest(v1))).status)
	}
	cold := publish.ServiceSource(f.svc)
	want, err := cold(ctx)
	require.NoError(t, err)
	require.Len(t, want, 2)
	got, err := told(ctx)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	for _, a := range got {
		assert.Equal(t, 2, a.Version)
		assert.NotEmpty(t, a.Envelope)
		assert.NotEmpty(t, a.Counts)
		assert.NotEmpty(t, a.PhotoSHA256)
	}
}
