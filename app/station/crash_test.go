package station_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/station"
)

// crashChildEnv makes the test binary run as the child of TestCrashSafety.
const crashChildEnv = "TALLY_CRASH_CHILD_DB"

// TestCrashSafety starts a child process that types, seals and receipts
// forms in a loop, kills it with SIGKILL at a random moment, and checks the
// store after each kill: the file's integrity, the audit chain, every
// version the child saw sealed still there and unchanged, and the outbox
// exactly the sealed versions without a receipt. TALLY_CRASH_KILLS sets how
// many kills (default 25).
func TestCrashSafety(t *testing.T) {
	kills := 25
	if s := os.Getenv("TALLY_CRASH_KILLS"); s != "" {
		var err error
		kills, err = strconv.Atoi(s)
		require.NoError(t, err)
	}
	e := newEnv(t, election.Municipal)
	require.NoError(t, e.db.Close())
	rng := rand.New(rand.NewPCG(2026, uint64(kills)))

	sealed := map[string]string{} // digest → SHA-256 of its envelope, as the child reported
	progressed := 0
	for round := range kills {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), crashChildEnv+"="+e.path, "TALLY_CRASH_SEED="+strconv.Itoa(round))
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		// Kill after a random number of completed steps: the child goes
		// on working while this reads, so the kill lands anywhere in the
		// next step, a commit included.
		lines := bufio.NewScanner(out)
		steps := 1 + rng.IntN(40)
		for n := 0; n < steps && lines.Scan(); n++ {
			f := strings.Fields(lines.Text())
			if len(f) == 3 && f[0] == "sealed" {
				sealed[f[1]] = f[2]
			}
			progressed++
		}
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		for lines.Scan() { // what the child printed before it died
			if f := strings.Fields(lines.Text()); len(f) == 3 && f[0] == "sealed" {
				sealed[f[1]] = f[2]
			}
		}
		_ = cmd.Wait()
		ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
		require.True(t, ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL,
			"round %d: the child ended on its own (%v) instead of being killed", round, cmd.ProcessState)
		checkAfterCrash(t, e.path, sealed)
	}
	assert.Greater(t, len(sealed), kills/5, "the child sealed too little for the test to mean much")
	t.Logf("%d kills, %d steps, %d versions sealed", kills, progressed, len(sealed))
}

func checkAfterCrash(t *testing.T, path string, sealed map[string]string) {
	t.Helper()
	e := openEnv(t, path)
	defer e.db.Close()
	require.NoError(t, e.db.IntegrityCheck(e.ctx))
	e.auditCount()
	l := e.ledger()
	l.checkOutbox(t)
	stored := map[string]string{}
	for d, env := range l.versions {
		sum := sha256.Sum256(env)
		stored[d] = hex.EncodeToString(sum[:])
	}
	for d, sum := range sealed {
		require.Equal(t, sum, stored[d], "sealed version %s is missing or changed", d)
	}
	for d, sum := range stored {
		sealed[d] = sum // a version committed just before the kill, unreported, must stay too
	}
}

// TestMain runs the crash child instead of the tests when asked to.
func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	os.Exit(m.Run())
}

// crashChild is the child of TestCrashSafety: it works on the station
// until it is killed, printing one line after each committed step.
func crashChild(path string) {
	t := &childT{}
	defer func() {
		if t.failed {
			os.Exit(3)
		}
	}()
	e := openEnv(t, path)
	var err error
	e.def, e.station, err = e.svc.Scope(e.ctx)
	require.NoError(t, err)
	e.key, err = e.svc.Unlock(e.ctx, []byte(testPIN))
	require.NoError(t, err)
	seed, _ := strconv.ParseUint(os.Getenv("TALLY_CRASH_SEED"), 10, 64)
	rng := rand.New(rand.NewPCG(seed, 7))
	st, err := e.svc.Status(e.ctx)
	require.NoError(t, err)
	for {
		key := st.Forms[rng.IntN(len(st.Forms))].Key
		step, err := e.step(key, rng)
		require.NoError(t, err, "%s: %s", key, step)
		fmt.Println(step)
	}
}

// childT lets the crash child use the tests' helpers outside a test: a
// failure prints and exits, which the parent sees as a child that died
// before it was killed.
type childT struct {
	testing.TB
	failed bool
}

func (c *childT) Helper()                   {}
func (c *childT) TempDir() string           { return os.TempDir() }
func (c *childT) Cleanup(func())            {}
func (c *childT) Errorf(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...); c.failed = true }
func (c *childT) FailNow()                  { os.Exit(3) }

// step moves a form one step along its life, as commissioners would.
func (e *env) step(key station.FormKey, rng *rand.Rand) (string, error) {
	v, err := e.svc.Open(e.ctx, key)
	if err != nil {
		return "open", err
	}
	values := cleanValues(v.Layout, e.station)
	next := func(d station.Entry) (string, error) {
		for _, f := range v.Layout.Fields {
			if _, ok := v.Values[f.ID]; !ok {
				n := values[f.ID]
				if d == station.Second && f.ID == election.FieldA && rng.IntN(3) == 0 {
					n++ // a typing mistake, to settle later
				}
				return "save " + string(f.ID), e.svc.SaveField(e.ctx, key, d, f.ID, itoa(n))
			}
		}
		if _, ok := v.Values[election.FieldMembers]; !ok {
			return "save members", e.svc.SaveField(e.ctx, key, d, election.FieldMembers, "5")
		}
		return "finish", e.svc.Finish(e.ctx, key, d)
	}
	switch v.State {
	case station.StateEmpty:
		return "begin first", e.svc.Begin(e.ctx, key, station.First, "Arta Krasniqi")
	case station.StateFirstEntry:
		return next(station.First)
	case station.StateSecondPending:
		return "begin second", e.svc.Begin(e.ctx, key, station.Second, "Besnik Gashi")
	case station.StateSecondEntry:
		return next(station.Second)
	case station.StateDifferences:
		d := v.Differences[0]
		return "resolve", e.svc.Resolve(e.ctx, key, d.Field, itoa(values[d.Field]), "Arta Krasniqi")
	case station.StateAgreed:
		if v.Photo == "" {
			_, err := e.svc.AttachPhoto(e.ctx, key, photo(itoa(rng.IntN(1000))), "Arta Krasniqi")
			return "photo", err
		}
		sv, err := e.svc.Seal(e.ctx, key, e.key)
		if err != nil {
			return "seal", err
		}
		sum := sha256.Sum256(sv.Envelope)
		return "sealed " + sv.Digest + " " + hex.EncodeToString(sum[:]), nil
	}
	// Sealed, returned or approved: a receipt for what is unreceipted, then a correction.
	st, err := e.svc.Status(e.ctx)
	if err != nil {
		return "status", err
	}
	if len(st.Outbox) > 0 && rng.IntN(2) == 0 {
		it := st.Outbox[rng.IntN(len(st.Outbox))]
		sv := station.Version{Key: it.Key, Version: it.Version, Digest: it.Digest}
		_, err := e.svc.RecordReceipt(e.ctx, e.receipt(&sv, uint64(len(st.Outbox)+1000*it.Version)))
		return "receipt " + it.Digest, err
	}
	if v.State == station.StateApproved {
		_, err := e.svc.RecordDecision(e.ctx, e.decision(&v.Versions[len(v.Versions)-1], election.Return, "Rinumëroni."), e.c.supervisors(e.t))
		return "returned", err
	}
	return "correct", e.svc.Correct(e.ctx, key, "Arta Krasniqi")
}
