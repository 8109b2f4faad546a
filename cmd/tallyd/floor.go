package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"tally/app/commission"
	"tally/app/election"
	"tally/app/seal"
	"tally/cmd/internal/cli"
)

// The floor is the bench's yardstick: a server process that does a
// submission's per-request work as tallyd does it and nothing else. It
// reads the request with net/http, checks the path's digest, opens the
// envelope (parse, find the key, Ed25519 over DSSE's PAE), parses the
// payload against the definition, checks that the station signs its own
// form, and answers 201 with a signed receipt. Nothing is stored, audited,
// committed or published. The bench sends it the sustained phase's
// envelopes again with the same load generator, on the same cores: what
// the floor cannot reach, no server that verifies each envelope in its own
// request can reach on this machine either.

// floorServe runs the floor until SIGINT or SIGTERM, for the demo election
// of the given kind and seed (its station keys are the bench's).
func floorServe(args []string, stdout io.Writer) error {
	fs := cli.Flags("bench floor")
	kind := fs.String("kind", string(election.Municipal), "assembly or municipal: the bench's election")
	seed := fs.Uint64("seed", 2026, "the bench's seed")
	listen := fs.String("listen", "127.0.0.1:0", "the address to listen on")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	le, err := newLoadElection(election.Kind(*kind), *seed, "http://127.0.0.1:8480")
	if err != nil {
		return err
	}
	h, err := newFloorHandler(le)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadTimeout: time.Minute, WriteTimeout: time.Minute, IdleTimeout: time.Minute}
	fmt.Fprintf(stdout, "tallyd bench floor listening on %s\n", ln.Addr())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(stop)
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
}

func newFloorHandler(le *loadElection) (http.Handler, error) {
	f := &floorHandler{def: le.def, station: map[string]string{}, receipt: le.keys["receipt"]}
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
	return mux, nil
}

func (f *floorHandler) put(w http.ResponseWriter, r *http.Request) {
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
