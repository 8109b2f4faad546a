package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/commission"
	"tally/app/election"
	"tally/app/enrollment"
	"tally/app/seal"
	"tally/storage/commissionlite"
	"tally/sync/client"
	"tally/sync/faults/harness"
)

// TestVerifyResults publishes a real tallyd's results with `tallyd
// publish --out DIR` twice (a station's key revoked in between), and
// checks them with `tally verify-results`: from the directory, over HTTP
// as a static host serves it, over https with a pin; then a changed
// file, an extra file, a directory that leads outside itself, and wrong
// command lines.
func TestVerifyResults(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bin, err := harness.BuildTallyd(dir)
	require.NoError(t, err)
	e, err := harness.NewElection(harness.ElectionOptions{Seed: 23, Municipalities: 1,
		Servers: []election.Server{{URL: "http://127.0.0.1:1"}}})
	require.NoError(t, err)
	td, err := harness.Import(bin, dir, e)
	require.NoError(t, err)
	out := filepath.Join(dir, "published")
	stations := e.PollingStations()[:3]

	withCommission := func(fn func(comm *commission.Service)) {
		t.Helper()
		store, err := commissionlite.Open(ctx, td.DB)
		require.NoError(t, err)
		comm := commission.New(store, commission.Options{ReceiptKey: e.Receipt})
		fn(comm)
		comm.Close()
		require.NoError(t, store.Close())
	}
	enroll := func(comm *commission.Service, st *election.Station, code string, key *seal.PrivateKey) {
		t.Helper()
		raw, err := enrollment.SignRequest(enrollment.Request{Election: e.Def.Election.ID, Role: enrollment.RoleStation,
			Unit: st.Code, Code: code, At: time.Now()}, key)
		require.NoError(t, err)
		_, err = comm.Enroll(ctx, raw)
		require.NoError(t, err)
	}
	sequence := uint64(0)
	submit := func(comm *commission.Service, st *election.Station, ref election.FormRef, version int, supersedes string, key *seal.PrivateKey) string {
		t.Helper()
		l, err := e.Def.Layout(ref.Contest, ref.Form)
		require.NoError(t, err)
		f := election.DemoForm(e.Def, l, st, uint64(version))
		photo := sha256.Sum256([]byte(st.Code + ref.Contest + string(ref.Form)))
		f.PhotoSHA256 = hex.EncodeToString(photo[:])
		sequence++
		payload, err := json.Marshal(election.Submission{Format: election.SubmissionFormat, Form: *f, Version: version,
			Supersedes: supersedes, SealedAt: time.Now().UTC(), Sequence: sequence})
		require.NoError(t, err)
		raw, err := seal.Sign(election.SubmissionPayloadType, payload, key)
		require.NoError(t, err)
		r, err := comm.Submit(ctx, raw)
		require.NoError(t, err)
		return r.Submission.Digest
	}
	publish := func() string {
		t.Helper()
		b, err := exec.Command(bin, "publish", "--db", td.DB, "--keys", filepath.Join(dir, "keys"), "--out", out).CombinedOutput()
		require.NoError(t, err, "%s", b)
		return string(b)
	}

	// Snapshot 1: two stations' forms; the first station's key is then
	// revoked and replaced. Snapshot 2: the first station corrects a form
	// with its new key, a third station reports.
	key := func(i int, label string) *seal.PrivateKey { return harness.SeedKey(23, stations[i].Code+"/"+label) }
	var firstDigest string
	withCommission(func(comm *commission.Service) {
		for i, st := range stations[:2] {
			enroll(comm, st, e.Codes[st.Code], key(i, "a"))
			for _, ref := range st.Forms {
				d := submit(comm, st, ref, 1, "", key(i, "a"))
				if i == 0 && firstDigest == "" {
					firstDigest = d
				}
			}
		}
	})
	assert.Contains(t, publish(), "made snapshot 1")
	withCommission(func(comm *commission.Service) {
		_, err := comm.Revoke(ctx, key(0, "a").ID(), "the laptop was lost", "test")
		require.NoError(t, err)
		codes, err := comm.IssueCodes(ctx, enrollment.RoleStation, []string{stations[0].Code}, "test")
		require.NoError(t, err)
		enroll(comm, stations[0], codes[0].Code, key(0, "b"))
		submit(comm, stations[0], stations[0].Forms[0], 2, firstDigest, key(0, "b"))
		enroll(comm, stations[2], e.Codes[stations[2].Code], key(2, "a"))
		for _, ref := range stations[2].Forms {
			submit(comm, stations[2], ref, 1, "", key(2, "a"))
		}
	})
	assert.Contains(t, publish(), "made snapshot 2")

	verify := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"verify-results"}, args...), strings.NewReader(""), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	fp := e.Fingerprint()
	summary2 := filepath.Join(out, "v1", "results", "2", "summary.json")

	t.Run("OKDir", func(t *testing.T) {
		code, stdout, stderr := verify(out, "--fingerprint", fp)
		require.Equal(t, 0, code, stderr)
		assert.Regexp(t, `snapshot 1 +[0-9a-f]{64}  \S+  2 stations, 4 envelopes verified, \d+ files`, stdout)
		assert.Regexp(t, `snapshot 2 +[0-9a-f]{64}  \S+  3 stations, 6 envelopes verified, \d+ files`, stdout)
		assert.Contains(t, stdout, "station keys  4 listed, 1 revoked (1 of those signed counted forms)")
		assert.Contains(t, stdout, "ok: snapshots 1 to 2 of "+e.Def.Election.ID+": 10 signatures of stations")
		assert.NotContains(t, stdout, "not checked")
	})

	ts := httptest.NewServer(http.FileServer(http.Dir(out)))
	defer ts.Close()

	t.Run("OKURL", func(t *testing.T) {
		code, stdout, stderr := verify(ts.URL+"/", "--fingerprint", fp)
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, stdout, "ok: snapshots 1 to 2")
		assert.Contains(t, stdout, "an address cannot list them")

		code, stdout, stderr = verify("--latest", ts.URL, "--fingerprint", fp)
		require.Equal(t, 0, code, stderr)
		assert.NotContains(t, stdout, "snapshot 1 ")
		assert.Contains(t, stdout, "ok: snapshot 2 of")
		assert.Regexp(t, `not checked   snapshot 2 names [0-9a-f]{64} as the digest of snapshot 1`, stdout)
	})

	t.Run("TLSPin", func(t *testing.T) {
		tlsTS := httptest.NewTLSServer(http.FileServer(http.Dir(out)))
		defer tlsTS.Close()
		roots := x509.NewCertPool()
		roots.AddCert(tlsTS.Certificate())
		verifyResultsRoots = roots
		defer func() { verifyResultsRoots = nil }()

		code, stdout, stderr := verify(tlsTS.URL, "--fingerprint", fp, "--latest", "--tls-pin", client.Pin(tlsTS.Certificate()))
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, stdout, "ok: snapshot 2")

		other := "sha256/" + base64.StdEncoding.EncodeToString(make([]byte, sha256.Size))
		code, _, stderr = verify(tlsTS.URL, "--fingerprint", fp, "--tls-pin", other)
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, tlsTS.URL+"/v1/election")
		assert.Contains(t, stderr, "not one given with --tls-pin")
	})

	t.Run("ErrChangedFile", func(t *testing.T) {
		orig, err := os.ReadFile(summary2)
		require.NoError(t, err)
		defer func() { require.NoError(t, os.WriteFile(summary2, orig, 0o644)) }()
		changed := bytes.Replace(orig, []byte(`"valid":`), []byte(`"valid":1`), 1)
		require.NotEqual(t, orig, changed)
		require.NoError(t, os.WriteFile(summary2, changed, 0o644))

		code, stdout, stderr := verify(out, "--fingerprint", fp)
		assert.Equal(t, 1, code)
		assert.Contains(t, stdout, "snapshot 1 ", "snapshot 1 is checked before")
		assert.Contains(t, stdout, "FAILED")
		assert.NotContains(t, stdout, "ok:")
		assert.Contains(t, stderr, "verify-results: "+summary2+": is not what signed snapshot 2 gives")

		code, _, stderr = verify(ts.URL, "--fingerprint", fp)
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, ts.URL+"/v1/results/2/summary.json: is not what signed snapshot 2 gives")
	})

	t.Run("ErrMissingFile", func(t *testing.T) {
		p := filepath.Join(out, "v1", "results", "1", e.Def.Contests[0].Code, "stations.csv")
		orig, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NoError(t, os.Remove(p))
		defer func() { require.NoError(t, os.WriteFile(p, orig, 0o644)) }()
		code, _, stderr := verify(out, "--fingerprint", fp)
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, p+": is missing")
		code, _, stderr = verify(ts.URL, "--fingerprint", fp)
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, "/v1/results/1/"+e.Def.Contests[0].Code+"/stations.csv: is missing")
	})

	t.Run("ErrExtraFile", func(t *testing.T) {
		p := filepath.Join(out, "v1", "results", "1", "notes.txt")
		require.NoError(t, os.WriteFile(p, []byte("hello"), 0o644))
		defer func() { require.NoError(t, os.Remove(p)) }()
		code, _, stderr := verify(out, "--fingerprint", fp)
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, p+": is not a file of snapshot 1")
	})

	t.Run("ErrOutsideDir", func(t *testing.T) {
		// A directory whose v1 leads into another: refused, not followed.
		other := t.TempDir()
		require.NoError(t, os.Symlink(filepath.Join(out, "v1"), filepath.Join(other, "v1")))
		code, _, stderr := verify(other, "--fingerprint", fp)
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, filepath.Join(other, "v1", "election"))
		assert.Contains(t, stderr, "cannot be read inside the directory")
		assert.Contains(t, stderr, "escapes")
	})

	t.Run("ErrFingerprint", func(t *testing.T) {
		code, _, stderr := verify(out, "--fingerprint", seal.Fingerprint(e.Receipt.ID()))
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, filepath.Join(out, "v1", "election")+": signed by the key with fingerprint "+fp)
		assert.Contains(t, stderr, "not the commission's results")
	})

	t.Run("ErrUsage", func(t *testing.T) {
		for want, args := range map[string][]string{
			"--fingerprint is required":            {out},
			"--from N or --latest, not both":       {out, "--fingerprint", fp, "--from", "1", "--latest"},
			"numbered from 1":                      {out, "--fingerprint", fp, "--from", "0"},
			"--tls-pin goes with an https address": {out, "--fingerprint", fp, "--tls-pin", "sha256/x"},
			"the directory or address":             {"--fingerprint", fp},
		} {
			code, _, stderr := verify(args...)
			assert.Equal(t, 2, code, want)
			assert.Contains(t, stderr, want)
		}
		pin := "sha256/" + base64.StdEncoding.EncodeToString(make([]byte, sha256.Size))
		code, _, stderr := verify(ts.URL, "--fingerprint", fp, "--tls-pin", pin)
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, "--tls-pin goes with an https address")
		code, _, stderr = verify(filepath.Join(out, "nothing"), "--fingerprint", fp)
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, "no such file or directory")
	})
}
