package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
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
			opened, err := seal.Open(raw, 1<<16, election.ReceiptPayloadType, ring)
			require.NoError(t, err)
			rc, err := election.ParseReceipt(opened.Payload)
			require.NoError(t, err)
			assert.Equal(t, envs[i].digest, rc.Submission)
			assert.Equal(t, v, rc.Version)
		}
	}
	assert.LessOrEqual(t, c.dials.Load(), int64(4), "both phases over at most one connection a client")
}
