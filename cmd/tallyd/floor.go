package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"tally/app/commission"
	"tally/app/election"
	"tally/app/publish"
	"tally/app/seal"
	"tally/cmd/internal/cli"
)

// The floor is the bench's yardstick: a server process that does a
// submission's per-request work as tallyd does it and nothing else, and
// serves results files from memory with tallyd's headers and nothing else. It
// reads the request with net/http, checks the path's digest, opens the
// envelope (parse, find the key, Ed25519 over DSSE's PAE), parses the
// payload against the definition, checks that the station signs its own
// form, and answers 201 with a signed receipt. Nothing is stored, audited,
// committed or published. The bench sends it the sustained phase's
// envelopes again with the same load generator, on the same cores: what
// the floor cannot reach, no server that verifies each envelope in its own
// request with these parts (net/http, this parser, Go's Ed25519) can reach
// on this machine, with the load generator beside it. It leaves out, of
// what tallyd does for a submission, the per-address and per-key rate
// limits, the key cache's lookup and the cap on concurrent checks, so its
// figures are if anything generous. The bench's readers then read the
// national summary from it as they read it from tallyd.

// floorServe runs the floor until SIGINT or SIGTERM, for the demo election
// of the given kind and seed (its station keys are the bench's).
func floorServe(args []string, stdout io.Writer) error {
	flags := cli.Flags("bench floor")
	kind := flags.String("kind", string(election.Municipal), "assembly or municipal: the bench's election")
	seed := flags.Uint64("seed", 2026, "the bench's seed")
	listen := flags.String("listen", "127.0.0.1:0", "the address to listen on")
	results := flags.String("results", "", "a directory of gzipped results files to serve under /v1/results/")
	if err := cli.Parse(flags, args); err != nil {
		return err
	}
	le, err := newLoadElection(election.Kind(*kind), *seed, "http://127.0.0.1:8480")
	if err != nil {
		return err
	}
	var files map[string]floorFile
	if *results != "" {
		if files, err = readResultsDir(*results); err != nil {
			return err
		}
	}
	h, err := newFloorHandler(le, files)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadTimeout: time.Minute, WriteTimeout: time.Minute, IdleTimeout: time.Minute}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(stop)
	fmt.Fprintf(stdout, "tallyd bench floor listening on %s\n", ln.Addr())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-stop:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// floorHandler answers PUT /v1/submissions/{digest} as the floor.
type floorHandler struct {
	def     *election.Definition
	ring    *seal.Keyring
	station map[string]string // the station whose key it is, by key id
	receipt *seal.PrivateKey
	number  atomic.Uint64
	results map[string]floorFile // by path under /v1/results/
}

// floorFile is a results file as the floor serves it.
type floorFile struct {
	gzip         []byte
	etag         string // of the plain bytes, as tallyd's
	cacheControl string
}

func newFloorHandler(le *loadElection, results map[string]floorFile) (http.Handler, error) {
	f := &floorHandler{def: le.def, station: map[string]string{}, receipt: le.keys["receipt"], results: results}
	pubs := make([]seal.PublicKey, 0, len(le.station))
	for code, k := range le.station {
		pubs = append(pubs, k.Public())
		f.station[k.ID()] = code
	}
	ring, err := seal.NewKeyring(pubs...)
	if err != nil {
		return nil, err
	}
	f.ring = ring
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /v1/submissions/{digest}", f.put)
	mux.HandleFunc("GET /v1/results/{path...}", f.get)
	return mux, nil
}

// readResultsDir reads every file under dir (gzipped), by its slash
// path.
func readResultsDir(dir string) (map[string]floorFile, error) {
	files := map[string]floorFile{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		name := filepath.ToSlash(rel)
		cc := "public, max-age=31536000, immutable" // a numbered file
		if name == publish.LatestPath {
			cc = "public, max-age=2"
		}
		files[name] = floorFile{gzip: b, etag: `"` + seal.Digest(plain) + `"`, cacheControl: cc}
		return nil
	})
	return files, err
}

// get answers with a results file as tallyd's serveFile does to a client
// that takes gzip.
func (f *floorHandler) get(w http.ResponseWriter, r *http.Request) {
	file, ok := f.results[r.PathValue("path")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("ETag", file.etag)
	h.Set("Cache-Control", file.cacheControl)
	h.Set("Vary", "Accept-Encoding")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Type", "application/json")
	h.Set("Content-Encoding", "gzip")
	h.Set("Content-Length", strconv.Itoa(len(file.gzip)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(file.gzip)
}

func (f *floorHandler) put(w http.ResponseWriter, r *http.Request) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		http.Error(w, "the Content-Type is not application/json", http.StatusUnsupportedMediaType)
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, commission.MaxEnvelopeSize))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc, err := f.check(r.PathValue("digest"), raw)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(rc)
}

// check is the work of one submission: it gives the signed receipt.
func (f *floorHandler) check(digest string, raw []byte) ([]byte, error) {
	if got := seal.Digest(raw); got != digest {
		return nil, fmt.Errorf("the path names %s, the body's digest is %s", digest, got)
	}
	env, err := seal.Parse(raw, commission.MaxEnvelopeSize)
	if err != nil {
		return nil, err
	}
	if len(env.Signatures) != 1 {
		return nil, fmt.Errorf("%d signatures, where a submission has one", len(env.Signatures))
	}
	opened, err := env.Open(raw, election.SubmissionPayloadType, f.ring)
	if err != nil {
		return nil, err
	}
	sub, _, err := election.ParseSubmission(opened.Payload, f.def)
	if err != nil {
		return nil, err
	}
	if st := f.station[opened.SignedBy[0]]; st != sub.Form.Station {
		return nil, fmt.Errorf("the key of station %s signed a form of station %s", st, sub.Form.Station)
	}
	payload, err := json.Marshal(election.Receipt{
		Format: election.ReceiptFormat, Election: f.def.Election.ID, Station: sub.Form.Station,
		Contest: sub.Form.Contest, Form: sub.Form.Kind, Version: sub.Version, Submission: opened.Digest,
		Number: f.number.Add(1), ReceivedAt: time.Now().UTC(),
	})
	if err != nil {
		return nil, err
	}
	return seal.Sign(election.ReceiptPayloadType, payload, f.receipt)
}
