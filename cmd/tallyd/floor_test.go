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
// naming it; a tampered one, one whose path names another digest, and one
// that a station signed for another station are refused.
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
		h.ServeHTTP(w, httptest.NewRequest("PUT", "/v1/submissions/"+digest, bytes.NewReader(body)))
		return w
	}
	w := put(envs[0].digest, envs[0].raw)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	opened, err := seal.Open(w.Body.Bytes(), 1<<16, election.ReceiptPayloadType, ring)
	require.NoError(t, err)
	r, err := election.ParseReceipt(opened.Payload)
	require.NoError(t, err)
	assert.Equal(t, envs[0].digest, r.Submission)
	assert.Equal(t, envs[0].station, r.Station)

	tampered := bytes.Clone(envs[0].raw)
	tampered[len(tampered)/3] ^= 1
	assert.Equal(t, http.StatusBadRequest, put(seal.Digest(tampered), tampered).Code, "tampered")
	assert.Equal(t, http.StatusBadRequest, put(envs[1].digest, envs[0].raw).Code, "another digest")

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

	rep := benchReport{Cores: 2, VerifyPerCore: 1000}
	rep.Sustained.PerSecond = 1
	fl := floorRun{kind: "municipal", seed: 15, clients: 4, rounds: [][]envelope{v1, v2}, results: results, number: 1, readers: 3}
	require.NoError(t, fl.run(exe, mustRing(t, le), &rep))
	require.NotNil(t, rep.Floor)
	assert.Equal(t, len(v1)+len(v2), rep.Floor.Submissions)
	assert.Positive(t, rep.Floor.PerSecond)
	assert.InDelta(t, rep.Floor.PerSecond/2000, rep.FloorRatioToVerify, 1e-9)
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
