package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/publish"
	"tally/app/seal"
)

// TestFireKeepsConnections runs the bench's load generator against a real
// `tallyd serve`: a first version of every form, then a second over the
// same kept connections; each gets a receipt that verifies and names it.
func TestFireKeepsConnections(t *testing.T) {
	t.Setenv(asMainEnv, "1")
	exe, err := os.Executable()
	require.NoError(t, err)
	dir := t.TempDir()
	le, err := newLoadElection(election.Municipal, 12, "http://127.0.0.1:8480")
	require.NoError(t, err)
	le.only(20)
	require.NoError(t, le.prepare(context.Background(), dir, dir+"/tallyd.db"))
	p, err := startTallyd(exe, dir+"/tallyd.db", dir+"/"+keysDir, "--rate-per-key", "1e6", "--burst-per-key", "1000000")
	require.NoError(t, err)
	defer func() { assert.NoError(t, p.stop()) }()
	c := newLoadClient(p.addr, 4)
	defer c.closeIdle()
	require.NoError(t, c.enrollAll(le, 4))
	ring, err := seal.NewKeyring(le.keys["receipt"].Public())
	require.NoError(t, err)

	var prev map[string]string
	for v := 1; v <= 2; v++ {
		var envs []envelope
		envs, prev, err = le.versions(v, prev)
		require.NoError(t, err)
		var lat []time.Duration
		f, receipts, err := c.fireTimed(envs, 4, &lat)
		require.NoError(t, err)
		assert.Equal(t, len(envs), f.Submissions)
		assert.Len(t, lat, len(envs))
		for i, raw := range receipts {
			rc, err := openReceipt(raw, ring)
			require.NoError(t, err)
			assert.Equal(t, envs[i].digest, rc.Submission)
			assert.Equal(t, v, rc.Version)
		}
	}
	assert.LessOrEqual(t, c.dials.Load(), int64(4), "both phases over at most one connection a client")
}

// TestReadWhileIngesting runs the bench's read load against a real
// `tallyd serve`, alone and then while two more rounds are ingested (with
// the bench's lean reader of answers): every read is
// answered 200, and each round's last submission reaches a published
// snapshot that a reader finds.
func TestReadWhileIngesting(t *testing.T) {
	t.Setenv(asMainEnv, "1")
	exe, err := os.Executable()
	require.NoError(t, err)
	dir := t.TempDir()
	le, err := newLoadElection(election.Municipal, 13, "http://127.0.0.1:8480")
	require.NoError(t, err)
	le.only(20)
	require.NoError(t, le.prepare(context.Background(), dir, dir+"/tallyd.db"))
	p, err := startTallyd(exe, dir+"/tallyd.db", dir+"/"+keysDir, "--rate-per-key", "1e6", "--burst-per-key", "1000000",
		"--rate-public", "1e9", "--burst-public", "1000000000", "--publish-interval", "100ms")
	require.NoError(t, err)
	defer func() { assert.NoError(t, p.stop()) }()
	c := newLoadClient(p.addr, 4)
	defer c.closeIdle()
	require.NoError(t, c.enrollAll(le, 4))
	envs, prev, err := le.versions(1, nil)
	require.NoError(t, err)
	_, receipts, err := c.fire(envs, 4)
	require.NoError(t, err)

	var rep benchReport
	require.NoError(t, c.readWhileIngesting(context.Background(), le, &rep, &receipts, &prev, 2, 2, 3, 4))
	require.NotNil(t, rep.Reads)
	assert.Positive(t, rep.Reads.Requests)
	assert.Zero(t, rep.Reads.Refused)
	require.NotNil(t, rep.ReadsAlone)
	assert.Positive(t, rep.ReadsAlone.Requests)
	assert.Zero(t, rep.ReadsAlone.Refused)
	assert.Equal(t, 2*len(envs), rep.SustainedWithReads.Submissions)
	assert.Len(t, rep.PublicationMS, 2)
	assert.Equal(t, trickleForms, rep.TrickleForms, "each form of the trickle reached a snapshot")
	assert.Positive(t, rep.TrickleMaxms)
	assert.Len(t, receipts, 3*len(envs))

	l, err := c.latestSnapshot()
	require.NoError(t, err)
	status, body, err := c.do("GET", "/v1/results/"+l.Summary, nil)
	require.NoError(t, err)
	require.Equal(t, 200, status)
	var sum publish.Summary
	require.NoError(t, json.Unmarshal(body, &sum))
	assert.Equal(t, l.Number, sum.Number)
	sent := map[string]bool{}
	for _, e := range envs {
		sent[e.station] = true
	}
	assert.Equal(t, len(sent), sum.Reported.Reported, "every station that sent is reported")

	// What the floor is given to serve is what tallyd served.
	saved := t.TempDir()
	n, err := c.saveSummary(saved)
	require.NoError(t, err)
	assert.Equal(t, l.Number, n)
	gz, err := os.ReadFile(filepath.Join(saved, filepath.FromSlash(l.Summary)))
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(gz, []byte{0x1f, 0x8b}), "saved as sent, gzipped")
	assert.Equal(t, body, gunzipOrPlain(gz))
}
