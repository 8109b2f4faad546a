package station_test

import (
	"context"
	"encoding/json"
	"maps"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/election/electiontest"
	"tally/app/seal"
	"tally/app/station"
	"tally/storage/stationdb"
)

// The PIN of every test station, and a cheap key derivation so that tests
// do not spend a tenth of a second on each unlock.
const testPIN = "4719-2853"

var testKDF = seal.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

// commission holds the demo election's keys, made from fixed seeds.
type commission struct {
	definition, receipt, publication, supervisor *seal.PrivateKey
}

func seededKey(tb testing.TB, n byte) *seal.PrivateKey { return electiontest.Key(n) }

func newCommission(tb testing.TB) commission {
	return commission{definition: seededKey(tb, 1), receipt: seededKey(tb, 2),
		publication: seededKey(tb, 3), supervisor: seededKey(tb, 4)}
}

func (c commission) fingerprint() string { return seal.Fingerprint(c.definition.ID()) }

func (c commission) supervisors(tb testing.TB) *seal.Keyring {
	ring, err := seal.NewKeyring(c.supervisor.Public())
	require.NoError(tb, err)
	return ring
}

var smallSigned = sync.OnceValue(func() map[election.Kind][]byte {
	out := map[election.Kind][]byte{}
	for _, kind := range []election.Kind{election.Assembly, election.Municipal} {
		_, signed, err := electiontest.Election(electiontest.Options{Kind: kind, Municipalities: 1})
		if err != nil {
			panic(err)
		}
		out[kind] = signed
	}
	return out
})

// smallDefinition is the first municipality of the demo election, signed
// by the fixed commission keys: every kind of form, and quick enough to
// load for each fuzzing input.
func smallDefinition(tb testing.TB, kind election.Kind) []byte { return smallSigned()[kind] }

// clock is a test clock that moves on a millisecond each time it is read.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 10, 4, 19, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time { return time.Unix(0, c.ns.Add(int64(time.Millisecond))).UTC() }

func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// env is a provisioned station on a real store in a temporary directory.
type env struct {
	t       testing.TB
	ctx     context.Context
	db      *stationdb.DB
	path    string
	svc     *station.Service
	clock   *clock
	c       commission
	def     *election.Definition
	station *election.Station
	key     *seal.PrivateKey // the station's key, unlocked once
}

// stationCode is the demo's first polling station: "01001A".
const stationCode = "01001A"

func newEnv(tb testing.TB, kind election.Kind) *env {
	tb.Helper()
	e := openEnv(tb, tb.TempDir()+"/station.db")
	_, err := e.svc.Provision(e.ctx, station.ProvisionRequest{Definition: smallDefinition(tb, kind),
		Fingerprint: e.c.fingerprint(), Station: stationCode, PIN: []byte(testPIN), By: "Arta Krasniqi"})
	require.NoError(tb, err)
	e.def, e.station, err = e.svc.Scope(e.ctx)
	require.NoError(tb, err)
	e.key, err = e.svc.Unlock(e.ctx, []byte(testPIN))
	require.NoError(tb, err)
	return e
}

// openEnv opens a store without provisioning it.
func openEnv(tb testing.TB, path string) *env {
	tb.Helper()
	ctx := context.Background()
	db, err := stationdb.Open(ctx, path)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = db.Close() })
	c := newClock()
	return &env{t: tb, ctx: ctx, db: db, path: path, clock: c, c: newCommission(tb),
		svc: station.New(db, station.Options{Now: c.Now, KDF: testKDF})}
}

// cleanValues returns numbers for a form of the station on which no error
// fires: every voter who signed cast a ballot, five were invalid, the
// valid ones go to the entities in turn.
func cleanValues(l *election.Layout, st *election.Station) map[election.Field]int {
	a := st.Registered
	b := a * 6 / 10
	v := map[election.Field]int{election.FieldMembers: 5}
	if l.Form == election.CandidatesForm {
		for _, f := range l.Fields {
			v[f.ID] = 0
		}
		return v
	}
	const spoiled, invalid, unused = 2, 5, 40
	v[election.FieldA], v[election.FieldB] = a, b
	v[election.FieldC], v[election.FieldD], v[election.FieldE] = b+spoiled+unused, unused, spoiled
	v[election.FieldF], v[election.FieldG], v[election.FieldH] = b, invalid, b-invalid
	left := b - invalid
	var entities []election.Field
	for _, f := range l.Fields {
		if f.Entity != 0 && f.Candidate == 0 {
			entities = append(entities, f.ID)
			v[f.ID] = 0
		}
	}
	for i := 0; left > 0; i = (i + 1) % len(entities) {
		n := min(left, 37+i)
		v[entities[i]] += n
		left -= n
	}
	return v
}

func typed(values map[election.Field]int) station.Typed {
	t := station.Typed{Values: map[election.Field]string{}}
	for f, v := range values {
		t.Values[f] = strconv.Itoa(v)
	}
	return t
}

// photo is a few bytes that look like a JPEG file, different per label.
func photo(label string) []byte {
	return append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, []byte("paper form "+label)...)
}

// receipt signs the commission's receipt for a sealed version.
func (e *env) receipt(v *station.Version, number uint64) []byte {
	e.t.Helper()
	payload, err := json.Marshal(election.Receipt{Format: election.ReceiptFormat, Election: e.def.Election.ID,
		Station: e.station.Code, Contest: v.Key.Contest, Form: v.Key.Form, Version: v.Version,
		Submission: v.Digest, Number: number, ReceivedAt: e.clock.Now()})
	require.NoError(e.t, err)
	env, err := seal.Sign(election.ReceiptPayloadType, payload, e.c.receipt)
	require.NoError(e.t, err)
	return env
}

// decision signs a supervisor's decision on a sealed version.
func (e *env) decision(v *station.Version, verdict election.Verdict, reason string) []byte {
	e.t.Helper()
	payload, err := json.Marshal(election.Decision{Format: election.DecisionFormat, Election: e.def.Election.ID,
		Station: e.station.Code, Contest: v.Key.Contest, Form: v.Key.Form, Submission: v.Digest,
		Verdict: verdict, Reason: reason, DecidedAt: e.clock.Now()})
	require.NoError(e.t, err)
	env, err := seal.Sign(election.DecisionPayloadType, payload, e.c.supervisor)
	require.NoError(e.t, err)
	return env
}

// layout is the layout of one of the station's forms.
func (e *env) layout(key station.FormKey) *election.Layout {
	e.t.Helper()
	l, err := e.def.Layout(key.Contest, key.Form)
	require.NoError(e.t, err)
	return l
}

// agree types both entries of a form with the same numbers and attaches a
// photo: the form is then agreed, ready to seal.
func (e *env) agree(key station.FormKey, values map[election.Field]int) {
	e.t.Helper()
	require.NoError(e.t, e.svc.Enter(e.ctx, key, station.First, "Arta Krasniqi", typed(values)))
	_, err := e.svc.AttachPhoto(e.ctx, key, photo(key.String()), "Arta Krasniqi")
	require.NoError(e.t, err)
	require.NoError(e.t, e.svc.Enter(e.ctx, key, station.Second, "Besnik Gashi", typed(values)))
}

// auditCount is how many records the audit chain holds; it verifies too.
func (e *env) auditCount() uint64 {
	e.t.Helper()
	n, _, err := e.svc.VerifyAudit(e.ctx)
	require.NoError(e.t, err)
	return n
}
func itoa(n int) string { return strconv.Itoa(n) }

func clone(m map[election.Field]int) map[election.Field]int { return maps.Clone(m) }

// payload decodes the submission of a sealed version.
func payload(t *testing.T, v *station.Version) *election.Submission {
	t.Helper()
	env, err := seal.Parse(v.Envelope, 1<<22)
	require.NoError(t, err)
	var sub election.Submission
	require.NoError(t, json.Unmarshal(env.Payload, &sub))
	return &sub
}

// ledger is what the store holds of sealed versions: each envelope by its
// digest, the digests receipted and the digests in the outbox.
type ledger struct {
	versions  map[string][]byte
	receipted map[string]bool
	outbox    []string
}

func (e *env) ledger() ledger {
	e.t.Helper()
	l := ledger{versions: map[string][]byte{}, receipted: map[string]bool{}}
	require.NoError(e.t, e.db.View(e.ctx, func(r station.Reader) error {
		if err := r.AllVersions(func(v station.Version) error {
			l.versions[v.Digest] = v.Envelope
			return nil
		}); err != nil {
			return err
		}
		rs, err := r.Receipts()
		if err != nil {
			return err
		}
		for _, rc := range rs {
			l.receipted[rc.Submission] = true
		}
		items, err := r.Outbox()
		for _, it := range items {
			l.outbox = append(l.outbox, it.Digest)
		}
		return err
	}))
	return l
}

// checkOutbox asserts that the outbox holds exactly the sealed versions
// without a receipt.
func (l ledger) checkOutbox(t testing.TB) {
	t.Helper()
	var want []string
	for d := range l.versions {
		if !l.receipted[d] {
			want = append(want, d)
		}
	}
	require.ElementsMatch(t, want, l.outbox, "the outbox is not the sealed versions without a receipt")
}
