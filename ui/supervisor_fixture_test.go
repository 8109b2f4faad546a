package ui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tally/app/commission"
	"tally/app/election"
	"tally/app/election/electiontest"
	"tally/app/enrollment"
	"tally/app/review"
	"tally/app/seal"
	"tally/server"
	"tally/storage/commissionlite"
	"tally/storage/reviewdb"
)

// supElection is the demo election cut to two municipalities; the
// supervisor is the first one's.
var supElection = sync.OnceValues(func() (*election.Definition, []byte) {
	d, signed, err := electiontest.Election(electiontest.Options{Municipalities: 2})
	if err != nil {
		panic(err)
	}
	return d, signed
})

// testClock moves only when told to, plus a microsecond a read.
type testClock struct{ ns atomic.Int64 }

func newTestClock(at time.Time) *testClock {
	c := &testClock{}
	c.ns.Store(at.UnixNano())
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Add(int64(time.Microsecond))).UTC() }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// commissionRig is the commission (its service on a real SQLite store,
// behind the real server's handler) and a provisioned, enrolled
// supervisor of the first municipality on a real reviewdb: what the
// supervisor's screens read is what the sync layer would have fetched.
type commissionRig struct {
	t     testing.TB
	ctx   context.Context
	def   *election.Definition
	comm  *commission.Service
	srv   http.Handler
	codes map[string]string // role/unit → code in the clear

	clock   func() time.Time
	store   *reviewdb.DB
	svc     *review.Service
	key     *seal.PrivateKey // the supervisor's, unlocked
	token   string
	muni    string
	stKeys  map[string]*seal.PrivateKey
	nextKey byte
}

// newCommissionRig provisions the supervisor's store at path; kdf is the
// PIN's key derivation (cheap in tests).
func newCommissionRig(t testing.TB, dir, path string, now func() time.Time, kdf seal.KDFParams) *commissionRig {
	t.Helper()
	e := newCommission(t, dir, now)
	_, signed := supElection()
	var err error
	e.store, err = reviewdb.Open(e.ctx, path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.store.Close() })
	e.svc = review.New(e.store, review.Options{Now: now, KDF: kdf})
	_, err = e.svc.Provision(e.ctx, review.ProvisionRequest{Definition: signed, Fingerprint: electiontest.Fingerprint(),
		Municipality: e.muni, PIN: []byte(testPIN), By: "Drita Berisha"})
	require.NoError(t, err)
	e.key, err = e.svc.Unlock(e.ctx, []byte(testPIN))
	require.NoError(t, err)
	require.NoError(t, e.enrollSupervisor(e.ctx, e.key, e.codes["supervisor/"+e.muni]))
	e.token = e.login()
	return e
}

// newCommission is the commission alone, with its codes issued: no
// supervisor on this laptop yet.
func newCommission(t testing.TB, dir string, now func() time.Time) *commissionRig {
	t.Helper()
	ctx := context.Background()
	def, signed := supElection()
	cstore, err := commissionlite.Open(ctx, dir+"/tallyd.db")
	require.NoError(t, err)
	t.Cleanup(func() { _ = cstore.Close() })
	e := &commissionRig{t: t, ctx: ctx, def: def, codes: map[string]string{}, clock: now,
		muni: def.Municipalities[0].Code, stKeys: map[string]*seal.PrivateKey{}, nextKey: 10}
	e.comm = commission.New(cstore, commission.Options{ReceiptKey: electiontest.Key(electiontest.ReceiptSeed)})
	t.Cleanup(e.comm.Close)
	_, err = e.comm.ImportElection(ctx, signed, electiontest.Fingerprint(), "test")
	require.NoError(t, err)
	for _, role := range []enrollment.Role{enrollment.RoleStation, enrollment.RoleSupervisor} {
		codes, err := e.comm.IssueCodes(ctx, role, nil, "test")
		require.NoError(t, err)
		for _, c := range codes {
			e.codes[string(role)+"/"+c.Unit] = c.Code
		}
	}
	srv, err := server.New(server.Config{Service: e.comm})
	require.NoError(t, err)
	e.srv = srv.Handler()
	return e
}

// enrollSupervisor enrolls the supervisor's key at the commission with a
// code, as the app's Enroll hook does over the network, and records it.
func (e *commissionRig) enrollSupervisor(ctx context.Context, key *seal.PrivateKey, code string) error {
	req, err := e.svc.EnrollmentRequest(ctx, key, code)
	if err != nil {
		return err
	}
	if _, err := e.comm.Enroll(ctx, req); err != nil {
		return fmt.Errorf("the commission did not enroll this supervisor: %w", err)
	}
	return e.svc.RecordEnrollment(ctx, "https://tally.test")
}

// conflict sends an envelope that the commission refuses as a conflict.
func (e *commissionRig) conflict(f *election.Form, key *seal.PrivateKey, version int, supersedes string) string {
	e.t.Helper()
	sub := election.Submission{Format: election.SubmissionFormat, Form: *f, Version: version, Supersedes: supersedes,
		SealedAt: e.clock().Add(-time.Minute), Sequence: uint64(version + 10)}
	payload, err := json.Marshal(sub)
	require.NoError(e.t, err)
	raw, err := seal.Sign(election.SubmissionPayloadType, payload, key)
	require.NoError(e.t, err)
	_, err = e.comm.Submit(e.ctx, raw)
	require.Equal(e.t, commission.EConflict, commission.KindOf(err), "%v", err)
	return seal.Digest(raw)
}

// fetchConflicts records the commission's list of conflicts and the
// records of the stations it names, as the sync does.
func (e *commissionRig) fetchConflicts() {
	e.t.Helper()
	o, err := review.ParseOverview(e.get("/v1/municipalities/" + e.muni + "/stations"))
	require.NoError(e.t, err)
	require.NoError(e.t, e.svc.RecordOverview(e.ctx, o))
	l, err := review.ParseConflicts(e.get("/v1/municipalities/" + e.muni + "/conflicts"))
	require.NoError(e.t, err)
	require.NoError(e.t, e.svc.RecordConflicts(e.ctx, l))
	m, err := e.svc.Missing(e.ctx)
	require.NoError(e.t, err)
	for _, code := range m.Stations {
		r, err := review.ParseStationRecord(e.get("/v1/stations/" + code))
		require.NoError(e.t, err)
		require.NoError(e.t, e.svc.RecordStation(e.ctx, r))
	}
}

// stations are the municipality's polling stations.
func (e *commissionRig) stations() []*election.Station {
	var out []*election.Station
	for i := range e.def.Stations {
		if st := &e.def.Stations[i]; st.Municipality == e.muni && st.Kind == election.Polling {
			out = append(out, st)
		}
	}
	return out
}

// allStations counts every station of the municipality.
func (e *commissionRig) allStations() int {
	n := 0
	for i := range e.def.Stations {
		if e.def.Stations[i].Municipality == e.muni {
			n++
		}
	}
	return n
}

// enroll enrolls a new key for a station at the commission.
func (e *commissionRig) enroll(st *election.Station) *seal.PrivateKey {
	e.t.Helper()
	key := electiontest.Key(e.nextKey)
	e.nextKey++
	raw, err := enrollment.SignRequest(enrollment.Request{Election: e.def.Election.ID, Role: enrollment.RoleStation,
		Unit: st.Code, Code: e.codes["station/"+st.Code], At: time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)}, key)
	require.NoError(e.t, err)
	_, err = e.comm.Enroll(e.ctx, raw)
	require.NoError(e.t, err)
	e.stKeys[st.Code] = key
	return key
}

// form is the demo numbers of a station's first form, with the photo
// named, changed by edit.
func (e *commissionRig) form(st *election.Station, seed uint64, photo []byte, edit func(*election.Form)) *election.Form {
	e.t.Helper()
	l, err := e.def.Layout(st.Forms[0].Contest, st.Forms[0].Form)
	require.NoError(e.t, err)
	f := election.DemoForm(e.def, l, st, seed)
	f.PhotoSHA256 = shaHex(photo)
	if edit != nil {
		edit(f)
	}
	return f
}

// seal signs a version of a form as a station seals it, and the
// commission takes it; it returns the digest.
func (e *commissionRig) seal(f *election.Form, key *seal.PrivateKey, version int, supersedes string, confirmed ...election.Confirmation) string {
	e.t.Helper()
	sub := election.Submission{Format: election.SubmissionFormat, Form: *f, Version: version, Supersedes: supersedes,
		Confirmed: confirmed, SealedAt: e.clock().Add(-time.Duration(3-version) * time.Hour), Sequence: uint64(version)}
	payload, err := json.Marshal(sub)
	require.NoError(e.t, err)
	_, _, err = election.ParseSubmission(payload, e.def)
	require.NoError(e.t, err, "a station seals only what the commission takes")
	raw, err := seal.Sign(election.SubmissionPayloadType, payload, key)
	require.NoError(e.t, err)
	r, err := e.comm.Submit(e.ctx, raw)
	require.NoError(e.t, err)
	return r.Submission.Digest
}

// refresh records what the sync layer fetches: the key list, the
// overview, each station's record and every stored version.
func (e *commissionRig) refresh() {
	e.t.Helper()
	list, err := e.comm.SignedKeyList(e.ctx)
	require.NoError(e.t, err)
	_, err = e.svc.RecordKeyList(e.ctx, list)
	require.NoError(e.t, err)
	o, err := review.ParseOverview(e.get("/v1/municipalities/" + e.muni + "/stations"))
	require.NoError(e.t, err)
	require.NoError(e.t, e.svc.RecordOverview(e.ctx, o))
	rec, err := e.comm.MunicipalityRecord(e.ctx, e.muni)
	require.NoError(e.t, err)
	seen := map[string]bool{}
	for _, s := range rec.Submissions {
		_, err := e.svc.RecordSubmission(e.ctx, s.Envelope)
		require.NoError(e.t, err)
		if st := s.Station; !seen[st] {
			seen[st] = true
			r, err := review.ParseStationRecord(e.get("/v1/stations/" + st))
			require.NoError(e.t, err)
			require.NoError(e.t, e.svc.RecordStation(e.ctx, r))
		}
	}
}

// revoke revokes a station's key at the commission, and the supervisor
// fetches the new key list.
func (e *commissionRig) revoke(key *seal.PrivateKey) {
	e.t.Helper()
	_, err := e.comm.Revoke(e.ctx, key.ID(), "laptop stolen", "operator")
	require.NoError(e.t, err)
	list, err := e.comm.SignedKeyList(e.ctx)
	require.NoError(e.t, err)
	_, err = e.svc.RecordKeyList(e.ctx, list)
	require.NoError(e.t, err)
}

// login gets the supervisor a token from the server, as the client does.
func (e *commissionRig) login() string {
	e.t.Helper()
	var ch server.Challenge
	e.call(http.MethodPost, "/v1/auth/challenge", "", nil, &ch)
	answer, err := enrollment.SignAuth(e.def.Election.ID, ch.Challenge, time.Now(), e.key)
	require.NoError(e.t, err)
	var tok server.Token
	e.call(http.MethodPost, "/v1/auth/token", "", answer, &tok)
	return tok.Token
}

func (e *commissionRig) get(path string) []byte {
	e.t.Helper()
	return e.call(http.MethodGet, path, e.token, nil, nil)
}

func (e *commissionRig) call(method, path, token string, body []byte, v any) []byte {
	e.t.Helper()
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	r.RemoteAddr = "127.0.0.1:4000"
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, r)
	require.Equal(e.t, http.StatusOK, w.Code, "%s %s: %s", method, path, w.Body.String())
	if v != nil {
		require.NoError(e.t, json.Unmarshal(w.Body.Bytes(), v))
	}
	return w.Body.Bytes()
}

// paperPhoto is a small PNG standing for the photo of a station's paper
// form: lines of "handwriting" on white.
func paperPhoto(code string, n int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 420, 594))
	for y := 0; y < 594; y++ {
		for x := 0; x < 420; x++ {
			c := color.RGBA{250, 250, 245, 255}
			if y > 40 && y%28 < 2 && x > 30 && x < 390 {
				c = color.RGBA{120, 120, 140, 255}
			}
			if y > 40 && y%28 > 8 && y%28 < 20 && x > 300 && x < 300+(len(code)*7+n*13+y)%80 {
				c = color.RGBA{20, 40, 120, 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}

func shaHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
