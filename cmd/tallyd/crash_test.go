package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/commission"
	"tally/app/election"
	"tally/app/seal"
)

// asMainEnv makes the test binary run as tallyd itself, so that tests can
// start `tallyd serve` as a real process.
const asMainEnv = "TALLYD_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestKillDuringBurst kills `tallyd serve` with SIGKILL in the middle of
// a burst of submissions, restarts it, and checks that every submission
// it acknowledged is stored, exactly once, that sending everything again
// gets each acknowledged one the very receipt it got before, and that the
// audit chain and the database file verify.
func TestKillDuringBurst(t *testing.T) {
	t.Setenv(asMainEnv, "1")
	t.Run("SQLite", func(t *testing.T) { killDuringBurst(t, t.TempDir()+"/tallyd.db") })
	t.Run("PostgreSQL", func(t *testing.T) { killDuringBurst(t, freshSchema(t)) })
}

func killDuringBurst(t *testing.T, db string) {
	exe, err := os.Executable()
	require.NoError(t, err)
	dir := t.TempDir()
	le, err := newLoadElection(election.Municipal, 11, "http://127.0.0.1:8480")
	require.NoError(t, err)
	le.only(300)
	ctx := context.Background()
	require.NoError(t, le.prepare(ctx, dir, db))
	envs, _, err := le.versions(1, nil)
	require.NoError(t, err)

	limits := []string{"--rate-per-address", "1e9", "--burst-per-address", "1000000000",
		"--rate-per-key", "1e6", "--burst-per-key", "1000000"}
	p, err := startTallyd(exe, db, dir+"/"+keysDir, limits...)
	require.NoError(t, err)
	c := newLoadClient(p.addr, 32)
	require.NoError(t, c.enrollAll(le, 32))

	// Fire everything; kill the server once a third is acknowledged.
	acked := make([][]byte, len(envs)) // the receipt of each acknowledged envelope
	var n atomic.Int64
	var kill sync.Once
	killAt := int64(len(envs) / 3)
	_ = parallelDo(len(envs), 32, func(i int) error {
		status, body, err := c.do("PUT", "/v1/submissions/"+envs[i].digest, envs[i].raw)
		if err != nil || status != http.StatusCreated {
			return nil // not acknowledged: the station would send it again
		}
		acked[i] = body
		if n.Add(1) == killAt {
			kill.Do(func() { _ = p.cmd.Process.Kill() })
		}
		return nil
	})
	kill.Do(func() { _ = p.cmd.Process.Kill() })
	<-p.done
	require.GreaterOrEqual(t, n.Load(), killAt)
	require.Less(t, n.Load(), int64(len(envs)), "the kill came after the burst was over")

	// After the restart, everything is sent again.
	p, err = startTallyd(exe, db, dir+"/"+keysDir, limits...)
	require.NoError(t, err)
	c = newLoadClient(p.addr, 32)
	require.NoError(t, parallelDo(len(envs), 32, func(i int) error {
		status, body, err := c.do("PUT", "/v1/submissions/"+envs[i].digest, envs[i].raw)
		if err != nil {
			return err
		}
		switch {
		case acked[i] != nil && (status != http.StatusOK || string(body) != string(acked[i])):
			return fmt.Errorf("acknowledged %s: now %d, and the receipt differs: %v", envs[i].station, status, string(body) != string(acked[i]))
		case status != http.StatusOK && status != http.StatusCreated:
			return fmt.Errorf("%s: %d %s", envs[i].station, status, body)
		}
		return nil
	}))
	require.NoError(t, p.stop())

	store, err := openStore(ctx, db)
	require.NoError(t, err)
	defer store.Close()
	if ic, ok := store.(integrityChecker); ok {
		require.NoError(t, ic.IntegrityCheck(ctx))
	}
	require.NoError(t, store.View(ctx, func(r commission.Reader) error {
		counts, err := r.Counts()
		if err != nil {
			return err
		}
		assert.Equal(t, len(envs), counts.Submissions, "every envelope stored once")
		assert.Zero(t, counts.Conflicts)
		for i, e := range envs {
			sub, err := r.Submission(e.digest)
			if err != nil {
				return err
			}
			if acked[i] != nil {
				rc, err := openReceipt(acked[i], mustRing(t, le))
				require.NoError(t, err)
				assert.Equal(t, rc.Number, sub.Number)
			}
		}
		return nil
	}))
	svc := commission.New(store, commission.Options{})
	defer svc.Close()
	_, _, err = svc.VerifyAudit(ctx)
	require.NoError(t, err)
}

func mustRing(t *testing.T, le *loadElection) *seal.Keyring {
	t.Helper()
	ring, err := seal.NewKeyring(le.keys["receipt"].Public())
	require.NoError(t, err)
	return ring
}

// testPostgres is the PostgreSQL server of the tests (127.0.0.1:5432,
// database test); TALLY_TEST_POSTGRES names another.
func testPostgres() string {
	if u := os.Getenv("TALLY_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// freshSchema makes an empty schema for one test and returns the URL that
// uses it; it is dropped when the test ends.
func freshSchema(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testPostgres())
	require.NoError(t, err, "the tests need PostgreSQL at %s", testPostgres())
	defer conn.Close(ctx)
	var b [6]byte
	_, err = rand.Read(b[:])
	require.NoError(t, err)
	schema := "tallyd_test_" + hex.EncodeToString(b[:])
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, testPostgres())
		if err == nil {
			_, _ = conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			_ = conn.Close(ctx)
		}
	})
	u, err := url.Parse(testPostgres())
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
