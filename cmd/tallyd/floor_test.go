package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/publish"
	"tally/app/seal"
)

// TestFloorAnswersWhatTallydWould checks the bench's yardstick does a
// submission's checks: a good envelope gets a receipt of the receipt key
// naming it; a signature over another payload, a path that names another
// digest, a body without its Content-Type and a form that a station
// signed for another station are refused.
func TestFloorAnswersWhatTallydWould(t *testing.T) {
	le, err := newLoadElection(election.Municipal, 14, "http://127.0.0.1:8480")
	require.NoError(t, err)
	le.only(3)
	h, err := newFloorHandler(le, nil)
	require.NoError(t, err)
	envs, _, err := le.versions(1, nil)
	require.NoError(t, err)
	ring := mustRing(t, le)

	put := func(digest string, body []byte) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("PUT", "/v1/submissions/"+digest, bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(w, r)
		return w
	}
	w := put(envs[0].digest, envs[0].raw)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	r, err := openReceipt(w.Body.Bytes(), ring)
	require.NoError(t, err)
	assert.Equal(t, envs[0].digest, r.Submission)
	assert.Equal(t, envs[0].station, r.Station)

	// Station 0's signature over station 0's other form.
	env0, err := seal.Parse(envs[0].raw, 1<<20)
	require.NoError(t, err)
	env1, err := seal.Parse(envs[1].raw, 1<<20)
	require.NoError(t, err)
	require.Equal(t, envs[0].station, envs[1].station)
	tampered, err := json.Marshal(seal.Envelope{PayloadType: env0.PayloadType, Payload: env1.Payload, Signatures: env0.Signatures})
	require.NoError(t, err)
	w = put(seal.Digest(tampered), tampered)
	assert.Equal(t, http.StatusBadRequest, w.Code, "tampered")
	assert.Contains(t, w.Body.String(), "does not verify")

	assert.Equal(t, http.StatusBadRequest, put(envs[1].digest, envs[0].raw).Code, "another digest")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("PUT", "/v1/submissions/"+envs[0].digest, bytes.NewReader(envs[0].raw)))
	assert.Equal(t, http.StatusUnsupportedMediaType, w.Code, "no Content-Type")

	// Station 0's form signed with station 1's key.
	stationRing, err := seal.NewKeyring(le.station[envs[0].station].Public())
	require.NoError(t, err)
	opened0, err := seal.Open(envs[0].raw, 1<<20, election.SubmissionPayloadType, stationRing)
	require.NoError(t, err)
	forged, err := seal.Sign(election.SubmissionPayloadType, opened0.Payload, le.station[le.stations[1].Code])
	require.NoError(t, err)
	w = put(seal.Digest(forged), forged)
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Contains(t, w.Body.String(), "signed a form of station "+envs[0].station)
}

// TestRunFloor runs the floor as the bench does, as a child process fed
// by the load generator: every envelope of two rounds is answered and
// counted, then readers read a summary from it, every read answered 200.
func TestRunFloor(t *testing.T) {
	t.Setenv(asMainEnv, "1")
	exe, err := os.Executable()
	require.NoError(t, err)
	le, err := newLoadElection(election.Municipal, 15, "http://127.0.0.1:8480")
	require.NoError(t, err)
	le.only(10)
	v1, prev, err := le.versions(1, nil)
	require.NoError(t, err)
	v2, _, err := le.versions(2, prev)
	require.NoError(t, err)

	results := t.TempDir()
	latest, err := json.Marshal(publish.Latest{Format: publish.LatestFormat, Number: 1, Summary: publish.SummaryPath(1)})
	require.NoError(t, err)
	writeGzip(t, filepath.Join(results, "latest.json"), latest)
	writeGzip(t, filepath.Join(results, "1", "summary.json"), []byte(`{"number":1}`))

	rep := benchReport{Cores: 2}
	rep.Sustained.PerSecond = 1
	fl := floorRun{kind: "municipal", seed: 15, clients: 4, rounds: [][]envelope{v1, v2}, results: results, number: 1, readers: 3}
	require.NoError(t, fl.run(exe, mustRing(t, le), &rep))
	require.NotNil(t, rep.Floor)
	assert.Equal(t, len(v1)+len(v2), rep.Floor.Submissions)
	assert.Positive(t, rep.Floor.PerSecond)
	require.Positive(t, rep.FloorVerifyPerCore)
	assert.InDelta(t, rep.Floor.PerSecond/(2*rep.FloorVerifyPerCore), rep.FloorRatioToVerify, 1e-9)
	assert.InDelta(t, 1/rep.Floor.PerSecond, rep.SustainedToFloor, 1e-9)
	require.NotNil(t, rep.ReadsFloor)
	assert.Positive(t, rep.ReadsFloor.Requests)
	assert.Zero(t, rep.ReadsFloor.Refused)
}

func writeGzip(t *testing.T, path string, b []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, err := w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o600))
}

// TestFloorServesResults checks the floor answers a results file as
// tallyd answers a client that takes gzip: the gzipped bytes, the ETag of
// the plain ones, latest.json briefly cached and a numbered file for good.
func TestFloorServesResults(t *testing.T) {
	dir := t.TempDir()
	latest := []byte(`{"number":1}`)
	writeGzip(t, filepath.Join(dir, publish.LatestPath), latest)
	writeGzip(t, filepath.Join(dir, "1", "summary.json"), []byte(`{}`))
	files, err := readResultsDir(dir)
	require.NoError(t, err)
	le, err := newLoadElection(election.Municipal, 16, "http://127.0.0.1:8480")
	require.NoError(t, err)
	h, err := newFloorHandler(le, files)
	require.NoError(t, err)

	get := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/v1/results/"+path, nil))
		return w
	}
	w := get(publish.LatestPath)
	require.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"))
	assert.Equal(t, `"`+seal.Digest(latest)+`"`, w.Header().Get("ETag"))
	assert.Equal(t, "public, max-age=2", w.Header().Get("Cache-Control"))
	assert.Equal(t, latest, gunzipOrPlain(w.Body.Bytes()))
	w = get("1/summary.json")
	require.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Header().Get("Cache-Control"), "immutable")
	assert.Equal(t, http.StatusNotFound, get("2/summary.json").Code)
}
