package commission_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tally/app/commission"
	"tally/app/election"
	"tally/app/election/electiontest"
	"tally/app/enrollment"
	"tally/app/seal"
	"tally/storage/commissionlite"
)

func seededKey(tb testing.TB, n byte) *seal.PrivateKey { return electiontest.Key(n) }

var twoMunicipalities = sync.OnceValue(func() []byte {
	_, signed, err := electiontest.Election(electiontest.Options{Municipalities: 2})
	if err != nil {
		panic(err)
	}
	return signed
})

// clock moves on a millisecond each time it is read.
type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time { return time.Unix(0, c.ns.Add(int64(time.Millisecond))).UTC() }

// env is a commission with the election imported and codes issued.
type env struct {
	t       testing.TB
	ctx     context.Context
	store   commission.Store
	svc     *commission.Service
	def     *election.Definition
	receipt *seal.PrivateKey
	codes   map[string]string // role/unit → code in the clear
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	ctx := context.Background()
	store := openStore(tb)
	c := &clock{}
	c.ns.Store(time.Date(2026, 10, 4, 19, 0, 0, 0, time.UTC).UnixNano())
	e := &env{t: tb, ctx: ctx, store: store, receipt: seededKey(tb, 2), codes: map[string]string{}}
	e.svc = commission.New(store, commission.Options{Now: c.Now, ReceiptKey: e.receipt})
	tb.Cleanup(e.svc.Close)
	var err error
	e.def, err = e.svc.ImportElection(ctx, twoMunicipalities(), seal.Fingerprint(seededKey(tb, 1).ID()), "test")
	require.NoError(tb, err)
	require.NoError(tb, e.svc.Ready(ctx))
	for _, role := range []enrollment.Role{enrollment.RoleStation, enrollment.RoleSupervisor} {
		codes, err := e.svc.IssueCodes(ctx, role, nil, "test")
		require.NoError(tb, err)
		for _, c := range codes {
			e.codes[string(role)+"/"+c.Unit] = c.Code
		}
	}
	return e
}

// openStore opens a new, empty store.
func openStore(tb testing.TB) commission.Store {
	tb.Helper()
	store, err := commissionlite.Open(context.Background(), tb.TempDir()+"/tallyd.db")
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = store.Close() })
	return store
}

// enroll enrolls a new key for a station or a municipality's supervisor.
func (e *env) enroll(role enrollment.Role, unit string, n byte) *seal.PrivateKey {
	e.t.Helper()
	key := seededKey(e.t, n)
	_, err := e.svc.Enroll(e.ctx, e.request(role, unit, e.codes[string(role)+"/"+unit], key))
	require.NoError(e.t, err)
	return key
}

func (e *env) request(role enrollment.Role, unit, code string, key *seal.PrivateKey) []byte {
	e.t.Helper()
	raw, err := enrollment.SignRequest(enrollment.Request{Election: e.def.Election.ID, Role: role, Unit: unit,
		Code: code, At: time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)}, key)
	require.NoError(e.t, err)
	return raw
}

// station is the n-th station of the election.
func (e *env) station(n int) *election.Station { return &e.def.Stations[n] }

// sealed seals a version of a station's results form, with numbers from
// the demo generator; bump makes a different envelope of the same form.
func (e *env) sealed(st *election.Station, key *seal.PrivateKey, version int, supersedes string, bump int) []byte {
	e.t.Helper()
	l, err := e.def.Layout(st.Forms[0].Contest, st.Forms[0].Form)
	require.NoError(e.t, err)
	f := election.DemoForm(e.def, l, st, 1)
	sub := election.Submission{Format: election.SubmissionFormat, Form: *f, Version: version, Supersedes: supersedes,
		SealedAt: time.Date(2026, 10, 4, 19, 30, bump, 0, time.UTC), Sequence: uint64(version*100 + bump)}
	payload, err := json.Marshal(sub)
	require.NoError(e.t, err)
	raw, err := seal.Sign(election.SubmissionPayloadType, payload, key)
	require.NoError(e.t, err)
	return raw
}

func (e *env) counts() commission.Counts {
	e.t.Helper()
	var c commission.Counts
	require.NoError(e.t, e.store.View(e.ctx, func(r commission.Reader) error {
		var err error
		c, err = r.Counts()
		return err
	}))
	return c
}

// receiptOf opens a receipt under the commission's receipt key.
func (e *env) receiptOf(raw []byte) *election.Receipt {
	e.t.Helper()
	ring, err := seal.NewKeyring(e.receipt.Public())
	require.NoError(e.t, err)
	opened, err := seal.Open(raw, 1<<16, election.ReceiptPayloadType, ring)
	require.NoError(e.t, err)
	r, err := election.ParseReceipt(opened.Payload)
	require.NoError(e.t, err)
	return r
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
