package commissionpg_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	mathrand "math/rand/v2"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/audit"
	"tally/app/commission"
	"tally/app/election"
	"tally/app/seal"
	"tally/storage/commissionpg"
)

// serverURL names the test server: TALLY_TEST_POSTGRES, or the one that
// scripts/install-deps.sh starts. The tests fail, not skip, without it.
func serverURL() string {
	if u := os.Getenv("TALLY_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test"
}

// t0 has microseconds, which every stored time keeps.
var t0 = time.Date(2026, 10, 4, 19, 42, 7, 123456000, time.UTC)

// schemas maps each store the tests open to its schema's URL, for rawExec.
var schemas sync.Map // commission.Store → string

// freshSchema creates an empty schema with a name of its own in the test
// database, dropped when the test ends, and returns a URL whose sessions
// use it.
func freshSchema(t testing.TB) string {
	t.Helper()
	var b [6]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	schema := "commissionpg_test_" + hex.EncodeToString(b[:])
	admin := connect(t, serverURL())
	_, err = admin.Exec(t.Context(), "CREATE SCHEMA "+schema)
	require.NoError(t, err, "the test server at %s", serverURL())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, serverURL())
		if !assert.NoError(t, err) {
			return
		}
		defer func() { _ = conn.Close(ctx) }()
		_, err = conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		assert.NoError(t, err)
	})
	u, err := url.Parse(serverURL())
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// connect is a plain connection, closed at the end of the test: what an
// operator with a database console has.
func connect(t testing.TB, databaseURL string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), databaseURL)
	require.NoError(t, err, "the test server at %s", serverURL())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = conn.Close(ctx)
	})
	return conn
}

// openAt opens a store on the schema of databaseURL, closed at the end of
// the test.
func openAt(t testing.TB, databaseURL string) *commissionpg.DB {
	t.Helper()
	db, err := commissionpg.Open(t.Context(), databaseURL)
	require.NoError(t, err)
	schemas.Store(commission.Store(db), databaseURL)
	t.Cleanup(func() { assert.NoError(t, db.Close()) })
	return db
}

// openDB opens a store on a fresh schema.
func openDB(t testing.TB) (*commissionpg.DB, string) {
	t.Helper()
	u := freshSchema(t)
	return openAt(t, u), u
}

// rawExec runs one statement on the store's schema, outside the store.
func rawExec(t *testing.T, store commission.Store, sql string) error {
	t.Helper()
	u, ok := schemas.Load(store)
	require.True(t, ok, "a store these tests opened")
	_, err := connect(t, u.(string)).Exec(t.Context(), sql)
	return err
}

func update(t testing.TB, st commission.Store, fn func(commission.Tx) error) {
	t.Helper()
	require.NoError(t, st.Update(t.Context(), fn))
}

func view(t testing.TB, st commission.Store, fn func(commission.Reader) error) {
	t.Helper()
	require.NoError(t, st.View(t.Context(), fn))
}

// sealedSubmission makes version n of a form with an envelope of its own
// (padded to the size of a real one); the store needs only the digest to be
// the envelope's.
func sealedSubmission(f commission.FormRef, municipality string, version int, supersedes, note string) *commission.Submission {
	env := fmt.Appendf(nil, `{"payloadType":"application/vnd.tally.submission+json","payload":"%s/%s/%s v%d %s %s"}`,
		f.Station, f.Contest, f.Form, version, note, padding)
	return &commission.Submission{Digest: seal.Digest(env), FormRef: f, Municipality: municipality, Version: version,
		Supersedes: supersedes, KeyID: "key-" + f.Station, Envelope: env, SealedAt: t0.Add(time.Duration(version) * time.Minute)}
}

// padding makes an envelope about as large as a real results form's (2 KB
// of base64, which compresses little).
var padding = func() string {
	b := make([]byte, 1500)
	rng := mathrand.NewChaCha8([32]byte{7})
	_, _ = rng.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}()

func results(station, contest string) commission.FormRef {
	return commission.FormRef{Station: station, Contest: contest, Form: election.ResultsForm}
}

// verifyChain verifies the whole audit chain and returns its records.
func verifyChain(t testing.TB, st commission.Store) []audit.Record {
	t.Helper()
	var (
		v       audit.Verifier
		records []audit.Record
	)
	view(t, st, func(r commission.Reader) error {
		return r.AuditRecords(func(rec audit.Record) error {
			records = append(records, rec)
			return v.Add(rec)
		})
	})
	return records
}
