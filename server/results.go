package server

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"tally/app/commission"
	"tally/app/publish"
)

// The public results: the published snapshots' files (see publish.Files)
// under /v1/results/, and the results page under /results/. They are
// answered from memory: no request reaches the database except one for a
// snapshot older than those the publisher keeps, and those go one at a
// time. Query strings are ignored, so a flood of distinct URLs is a flood
// of the same bytes.

// Cache lifetimes: a numbered file never changes; the pointer to the
// latest changes every few seconds; the page's own files with a release.
const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheLatest    = "public, max-age=2"
	cachePage      = "public, max-age=300"
)

// results serves what a Publisher published.
type results struct {
	pub *publish.Publisher // nil: nothing is published by this server

	// latest.json of the latest snapshot, made once per snapshot.
	mu           sync.Mutex
	latestNumber uint64
	latestFile   *publish.File

	// archived caches the files of the last snapshots read back from the
	// archive; archiveSlot lets one such read run at a time.
	archived    *lru
	archiveSlot chan struct{}

	page map[string]*publish.File // the page's files, gzipped once
}

func newResults(pub *publish.Publisher, page fs.FS) (*results, error) {
	r := &results{pub: pub, archived: newLRU(4), archiveSlot: make(chan struct{}, 1), page: map[string]*publish.File{}}
	if page == nil {
		return r, nil
	}
	err := fs.WalkDir(page, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(page, p)
		if err != nil {
			return err
		}
		f, err := publish.NewFile(p, contentTypeOf(p), body)
		if err != nil {
			return err
		}
		r.page[p] = &f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("server: the results page's files: %w", err)
	}
	return r, nil
}

func contentTypeOf(p string) string {
	switch path.Ext(p) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".json":
		return "application/json"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/x-icon"
	}
	return "application/octet-stream"
}

// latest is latest.json for the latest snapshot.
func (rs *results) latest() (*publish.File, error) {
	if rs.pub == nil {
		return nil, nil
	}
	p, ok := rs.pub.Latest()
	if !ok {
		return nil, nil
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.latestFile == nil || rs.latestNumber != p.Number {
		f, err := publish.LatestFile(p)
		if err != nil {
			return nil, err
		}
		rs.latestNumber, rs.latestFile = p.Number, &f
	}
	return rs.latestFile, nil
}

// resultsChanged tells the publisher that what is counted may have
// changed: a new version or decision was stored here. (Those stored by
// other nodes on a shared database are noticed by the caller of Serve, see
// cmd/tallyd.)
func (s *Server) resultsChanged() {
	if s.cfg.Publisher != nil {
		s.cfg.Publisher.Changed()
	}
}

// getResultsLatest answers /v1/results/latest.json.
func (s *Server) getResultsLatest(w http.ResponseWriter, r *http.Request) error {
	f, err := s.results.latest()
	if err != nil {
		return err
	}
	if f == nil {
		return newProblem(http.StatusNotFound, string(commission.ENotFound), "no results have been published yet")
	}
	serveFile(w, r, f, cacheLatest)
	return nil
}

// getResultsFile answers /v1/results/{number}/{file...}.
func (s *Server) getResultsFile(w http.ResponseWriter, r *http.Request) error {
	n, err := strconv.ParseUint(r.PathValue("number"), 10, 64)
	if err != nil {
		return badRequest("the path's number is not a snapshot number")
	}
	p, err := s.results.snapshot(r, n)
	if err != nil {
		return err
	}
	f, ok := p.File(r.PathValue("number") + "/" + r.PathValue("file"))
	if !ok {
		return newProblem(http.StatusNotFound, string(commission.ENotFound), "snapshot %d has no file %s", n, r.PathValue("file"))
	}
	serveFile(w, r, f, cacheImmutable)
	return nil
}

// snapshot finds a published snapshot: in memory, among the latest the
// publisher keeps or those recently read back, or else from the archive,
// one read at a time.
func (rs *results) snapshot(r *http.Request, n uint64) (*publish.Published, error) {
	notPublished := newProblem(http.StatusNotFound, string(commission.ENotFound), "no snapshot %d has been published", n)
	if rs.pub == nil {
		return nil, notPublished
	}
	if latest, ok := rs.pub.Latest(); !ok || n == 0 || n > latest.Number {
		return nil, notPublished
	}
	if p, ok := rs.pub.Kept(n); ok {
		return p, nil
	}
	if p, ok := rs.archived.get(n); ok {
		return p, nil
	}
	select {
	case rs.archiveSlot <- struct{}{}:
	default:
		p := newProblem(http.StatusServiceUnavailable, string(commission.EUnavailable),
			"snapshot %d is being read from the archive for another request; try again shortly", n)
		p.retryAfter = time.Second
		return nil, p
	}
	defer func() { <-rs.archiveSlot }()
	if p, ok := rs.archived.get(n); ok {
		return p, nil
	}
	p, err := rs.pub.ByNumber(r.Context(), n)
	switch {
	case errors.Is(err, publish.ErrNotPublished):
		return nil, notPublished
	case errors.Is(err, publish.ErrNotRetained):
		return nil, newProblem(http.StatusGone, string(commission.ENotFound), "snapshot %d is no longer kept by this server", n)
	case err != nil:
		return nil, err
	}
	rs.archived.put(n, p)
	return p, nil
}

// getResultsPage answers /results/ and /results/{asset}.
func (s *Server) getResultsPage(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("asset")
	if name == "" {
		name = "index.html"
	}
	f, ok := s.results.page[name]
	if !ok {
		return newProblem(http.StatusNotFound, string(commission.ENotFound), "the results page has no file %s", name)
	}
	serveFile(w, r, f, cachePage)
	return nil
}

// getRoot sends a browser that asks for the server itself to the results
// page.
func (s *Server) getRoot(w http.ResponseWriter, r *http.Request) error {
	http.Redirect(w, r, "/results/", http.StatusFound)
	return nil
}

// serveFile answers with a file from memory: 304 when the client has it,
// the gzip bytes when the client takes them.
func serveFile(w http.ResponseWriter, r *http.Request, f *publish.File, cacheControl string) {
	h := w.Header()
	h.Set("ETag", f.ETag)
	h.Set("Cache-Control", cacheControl)
	h.Set("Vary", "Accept-Encoding")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("X-Content-Type-Options", "nosniff")
	if etagMatches(r.Header.Get("If-None-Match"), f.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", f.ContentType)
	body := f.Body
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		body = f.Gzip()
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// etagMatches reads If-None-Match: a list of entity tags, weak or strong
// (compared weakly, as RFC 9110 says for If-None-Match), or *.
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reads Accept-Encoding: gzip unless its q is 0.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && q == 0 {
					return false
				}
			}
		}
		return true
	}
	return false
}

// lru is a few published snapshots read back from the archive.
type lru struct {
	mu    sync.Mutex
	size  int
	order []uint64
	m     map[uint64]*publish.Published
}

func newLRU(size int) *lru { return &lru{size: size, m: map[uint64]*publish.Published{}} }

func (c *lru) get(n uint64) (*publish.Published, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[n]
	if ok {
		c.touch(n)
	}
	return p, ok
}

func (c *lru) put(n uint64, p *publish.Published) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[n]; !ok && len(c.order) >= c.size {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.m[n] = p
	c.touch(n)
}

func (c *lru) touch(n uint64) {
	for i, v := range c.order {
		if v == n {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
	c.order = append(c.order, n)
}
