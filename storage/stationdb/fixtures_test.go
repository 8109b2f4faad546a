package stationdb_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"tally/app/election"
	"tally/app/seal"
	"tally/app/station"
	"tally/storage/stationdb"
)

var (
	results    = station.FormKey{Contest: "ASM", Form: election.ResultsForm}
	candidates = station.FormKey{Contest: "ASM", Form: election.CandidatesForm}
	mayor      = station.FormKey{Contest: "KK-PR", Form: election.ResultsForm}

	// t0 has nanoseconds, which every stored time must keep.
	t0 = time.Date(2026, 10, 4, 19, 42, 7, 123456789, time.UTC)
)

// openDB opens a new database in the test's directory, closed at the end.
func openDB(t testing.TB) (*stationdb.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "station.db")
	db, err := stationdb.Open(t.Context(), path)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, db.Close()) })
	return db, path
}

// rawDB opens the file with a plain connection, without the store's
// pragmas: what someone poking at the file with SQL would have.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, raw.Close()) })
	return raw
}

func update(t *testing.T, db *stationdb.DB, fn func(station.Tx) error) {
	t.Helper()
	require.NoError(t, db.Update(t.Context(), fn))
}

func view(t *testing.T, db *stationdb.DB, fn func(station.Reader) error) {
	t.Helper()
	require.NoError(t, db.View(t.Context(), fn))
}

func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// sealed makes a version with an envelope of its own; the store only needs
// the digest to be the envelope's.
func sealed(key station.FormKey, n int, supersedes string, seq uint64) station.Version {
	env := fmt.Appendf(nil, `{"payloadType":"test","payload":"%s v%d seq %d"}`, key, n, seq)
	return station.Version{Key: key, Version: n, Digest: seal.Digest(env), Supersedes: supersedes,
		Envelope: env, SealedAt: t0.Add(time.Duration(seq) * time.Minute), Sequence: seq}
}

func receiptOf(v station.Version, number uint64) station.StoredReceipt {
	env := fmt.Appendf(nil, `{"receipt":%d,"of":%q}`, number, v.Digest)
	return station.StoredReceipt{Submission: v.Digest, Digest: seal.Digest(env), Number: number,
		ReceivedAt: t0.Add(time.Hour), Envelope: env, StoredAt: t0.Add(time.Hour + time.Second)}
}

func decisionOn(v station.Version, verdict election.Verdict, reason string) station.StoredDecision {
	env := fmt.Appendf(nil, `{"decision":%q,"on":%q,"reason":%q}`, verdict, v.Digest, reason)
	return station.StoredDecision{Digest: seal.Digest(env), Submission: v.Digest, Key: v.Key,
		Verdict: verdict, Reason: reason, SignedBy: "supervisor-7f3a", DecidedAt: t0.Add(2 * time.Hour),
		Envelope: env, StoredAt: t0.Add(2*time.Hour + time.Second)}
}

func provisioning() *station.Provisioning {
	return &station.Provisioning{Election: "2026-local", Station: "0101A", DefinitionKeyID: "def-1a2b",
		PublicKey: "ed25519:AAAA", Vault: []byte("sealed private key"), Sequence: 0, ProvisionedAt: t0}
}

// countRows counts a table's rows through a plain connection.
func countRows(t *testing.T, raw *sql.DB, table string) int {
	t.Helper()
	var n int
	require.NoError(t, raw.QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&n))
	return n
}
