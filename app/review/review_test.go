package review_test

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/election/electiontest"
	"tally/app/enrollment"
	"tally/app/review"
	"tally/app/seal"
)

func TestProvision(t *testing.T) {
	_, signed := twoMunicipalities()
	store := func(t *testing.T) *review.Service {
		e := &env{t: t, ctx: t.Context(), clock: newClock(), path: t.TempDir() + "/supervisor.db"}
		e.open()
		return e.svc
	}
	muni := func() string { d, _ := twoMunicipalities(); return d.Municipalities[0].Code }()
	ok := review.ProvisionRequest{Definition: signed, Fingerprint: electiontest.Fingerprint(), Municipality: muni,
		PIN: []byte(testPIN), By: "Drita Berisha"}

	for name, tc := range map[string]struct {
		edit func(*review.ProvisionRequest)
		want error
	}{
		"ErrFingerprint":  {func(r *review.ProvisionRequest) { r.Fingerprint = seal.Fingerprint(electiontest.Key(9).ID()) }, review.ErrFingerprintMismatch},
		"ErrMunicipality": {func(r *review.ProvisionRequest) { r.Municipality = "99" }, nil},
		"ErrWeakPIN":      {func(r *review.ProvisionRequest) { r.PIN = []byte("123456") }, nil},
		"ErrNoName":       {func(r *review.ProvisionRequest) { r.By = " " }, nil},
		"ErrTamperedDef":  {func(r *review.ProvisionRequest) { r.Definition = tamper(r.Definition) }, nil},
	} {
		t.Run(name, func(t *testing.T) {
			svc := store(t)
			req := ok
			tc.edit(&req)
			_, err := svc.Provision(t.Context(), req)
			require.Error(t, err)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
			}
			_, err = svc.Provisioning(t.Context())
			assert.ErrorIs(t, err, review.ErrNotProvisioned, "a refused provisioning stores nothing")
		})
	}

	t.Run("OK", func(t *testing.T) {
		svc := store(t)
		p, err := svc.Provision(t.Context(), ok)
		require.NoError(t, err)
		assert.Equal(t, muni, p.Municipality)
		_, err = svc.Provision(t.Context(), ok)
		assert.ErrorIs(t, err, review.ErrAlreadyProvisioned)

		_, err = svc.Unlock(t.Context(), []byte("wrong-pin-1"))
		assert.ErrorIs(t, err, seal.ErrWrongPIN)
		key, err := svc.Unlock(t.Context(), []byte(testPIN))
		require.NoError(t, err)
		assert.Equal(t, p.PublicKey, seal.EncodePublicKey(key.Public()))

		req, err := svc.EnrollmentRequest(t.Context(), key, "abcde-fghjk-mnpqr")
		require.NoError(t, err)
		r, pub, err := enrollment.OpenRequest(req)
		require.NoError(t, err)
		assert.Equal(t, enrollment.RoleSupervisor, r.Role)
		assert.Equal(t, muni, r.Unit)
		assert.Equal(t, key.ID(), pub.ID)
		_, err = svc.EnrollmentRequest(t.Context(), electiontest.Key(strangerSeed), "abcde-fghjk-mnpqr")
		assert.ErrorIs(t, err, review.ErrWrongKey)

		n, _, err := svc.VerifyAudit(t.Context())
		require.NoError(t, err)
		assert.Equal(t, uint64(3), n, "provision, the wrong PIN, the unlock after it")
	})
}

func TestDashboard(t *testing.T) {
	e := newEnv(t)
	sts := e.stations()
	require.GreaterOrEqual(t, len(sts), 4)
	a, b, c := sts[0], sts[1], sts[2]
	ka, kb := e.enroll(a), e.enroll(b)
	da := e.submit(e.seal(e.form(a, nil), ka, 1, ""))
	db := e.submit(e.seal(e.form(b, nil), kb, 1, ""))
	e.refresh()

	all := e.municipalityStations()
	require.Greater(t, all, len(sts), "a counting centre as well")
	d, err := e.svc.Dashboard(e.ctx, review.Filter{})
	require.NoError(t, err)
	assert.Equal(t, all, d.Total)
	assert.Len(t, d.Stations, all)
	assert.Equal(t, 2, d.Counts[review.Received])
	assert.Equal(t, all-2, d.Counts[review.NotStarted])
	assert.Equal(t, 2, d.FormCounts[review.Received])
	row := rowOf(t, d, a.Code)
	assert.Equal(t, review.Received, row.State)
	assert.Equal(t, da, row.Forms[0].Digest)
	assert.True(t, row.Forms[0].Fetched)
	require.NotNil(t, row.Turnout, "turnout from the verified results form")
	f := e.form(a, nil)
	assert.Equal(t, f.Counts[election.FieldB], row.Turnout.Voted)
	assert.Equal(t, a.Registered, row.Turnout.Registered)
	assert.InDelta(t, float64(f.Counts[election.FieldB])/float64(a.Registered), row.Turnout.Share, 1e-9)
	assert.Nil(t, rowOf(t, d, c.Code).Turnout)
	assert.Equal(t, review.NotStarted, rowOf(t, d, c.Code).State)

	t.Run("FilterByState", func(t *testing.T) {
		d, err := e.svc.Dashboard(e.ctx, review.Filter{State: review.Received})
		require.NoError(t, err)
		assert.Equal(t, []string{a.Code, b.Code}, codes(d))
		assert.Equal(t, 2, d.Counts[review.Received], "counts are over the whole municipality")
		assert.Equal(t, all, d.Total)
	})
	t.Run("Search", func(t *testing.T) {
		d, err := e.svc.Dashboard(e.ctx, review.Filter{Search: " " + b.Code + " "})
		require.NoError(t, err)
		assert.Equal(t, []string{b.Code}, codes(d))
		d, err = e.svc.Dashboard(e.ctx, review.Filter{Search: "no such station anywhere"})
		require.NoError(t, err)
		assert.Empty(t, d.Stations)
	})
	t.Run("StationTheServerNeverHeardOf", func(t *testing.T) {
		o := e.overview()
		var kept []review.OverviewStation
		for _, s := range o.Stations {
			if s.Code != c.Code {
				kept = append(kept, s)
			}
		}
		o.Stations = kept
		require.NoError(t, e.svc.RecordOverview(e.ctx, o))
		d, err := e.svc.Dashboard(e.ctx, review.Filter{Search: c.Code})
		require.NoError(t, err)
		require.Len(t, d.Stations, 1)
		assert.Equal(t, review.NotStarted, d.Stations[0].State)
		assert.True(t, d.Stations[0].FetchedAt.IsZero(), "nothing was ever fetched of it")
	})
	t.Run("ErrOverviewOfAnotherMunicipality", func(t *testing.T) {
		before := e.counts()
		o := e.overview()
		o.Municipality = e.def.Municipalities[1].Code
		assert.ErrorIs(t, e.svc.RecordOverview(e.ctx, o), review.ErrInvalidView)
		o = e.overview()
		o.Stations[0].Forms[0].State = "lost"
		assert.ErrorIs(t, e.svc.RecordOverview(e.ctx, o), review.ErrInvalidView)
		assert.Equal(t, before, e.counts())
	})
	assert.Equal(t, db, rowOf(t, d, b.Code).Forms[0].Digest)
}

func TestStationRecord(t *testing.T) {
	e := newEnv(t)
	a := e.stations()[0]
	ka := e.enroll(a)
	e.submit(e.seal(e.form(a, nil), ka, 1, ""))
	e.refresh()
	rec := e.stationRecord(a.Code)
	require.NoError(t, e.svc.RecordStation(e.ctx, rec))

	t.Run("ErrForgedReceipt", func(t *testing.T) {
		before := e.counts()
		bad := e.stationRecord(a.Code)
		bad.Submissions[0].Number++
		assert.ErrorIs(t, e.svc.RecordStation(e.ctx, bad), review.ErrInvalidView)
		bad = e.stationRecord(a.Code)
		bad.Submissions[0].Receipt = tamper(bad.Submissions[0].Receipt)
		assert.ErrorIs(t, e.svc.RecordStation(e.ctx, bad), review.ErrInvalidView)
		assert.Equal(t, before, e.counts())
	})
	t.Run("ErrStationOfAnotherMunicipality", func(t *testing.T) {
		var other *election.Station
		for i := range e.def.Stations {
			if e.def.Stations[i].Municipality != e.muni {
				other = &e.def.Stations[i]
				break
			}
		}
		bad := e.stationRecord(a.Code)
		bad.Station.Code = other.Code
		assert.ErrorIs(t, e.svc.RecordStation(e.ctx, bad), review.ErrOutsideMunicipality)
	})
}

func TestRecordSubmissionRefusals(t *testing.T) {
	e := newEnv(t)
	sts := e.stations()
	a, b, c := sts[0], sts[1], sts[2]
	ka, kb := e.enroll(a), e.enroll(b)
	kc := e.enroll(c)
	_, err := e.comm.Revoke(e.ctx, kc.ID(), "laptop stolen", "operator")
	require.NoError(t, err)

	// Before any key list, nothing verifies.
	_, err = e.svc.RecordSubmission(e.ctx, e.seal(e.form(a, nil), ka, 1, ""))
	assert.ErrorIs(t, err, review.ErrNoKeyList)
	e.refresh()
	before := e.counts()

	for name, tc := range map[string]struct {
		raw    []byte
		reason review.KeyProblem
		want   error
	}{
		"ErrKeyNotListed":    {raw: e.seal(e.form(a, nil), electiontest.Key(strangerSeed), 1, ""), reason: review.KeyNotListed},
		"ErrRevokedKey":      {raw: e.seal(e.form(c, nil), kc, 1, ""), reason: review.KeyRevoked},
		"ErrOtherStationKey": {raw: e.seal(e.form(a, nil), kb, 1, ""), reason: review.KeyOtherStation},
		"ErrSupervisorKey":   {raw: e.seal(e.form(a, nil), e.key, 1, ""), reason: review.KeyNotStation},
		"ErrTampered":        {raw: changePayload(t, e.seal(e.form(a, nil), ka, 1, "")), want: review.ErrTampered},
		"ErrTruncated":       {raw: e.seal(e.form(a, nil), ka, 1, "")[:200]},
		"ErrOtherMunicipality": {raw: func() []byte {
			for i := range e.def.Stations {
				if st := &e.def.Stations[i]; st.Municipality != e.muni {
					return e.seal(e.form(st, nil), ka, 1, "")
				}
			}
			return nil
		}(), want: review.ErrOutsideMunicipality},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.svc.RecordSubmission(e.ctx, tc.raw)
			require.Error(t, err)
			if tc.reason != "" {
				var ke *review.KeyError
				require.ErrorAs(t, err, &ke)
				assert.Equal(t, tc.reason, ke.Reason)
				assert.Contains(t, err.Error(), seal.Fingerprint(ke.KeyID), "the error names the key")
			}
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
			}
			t.Log(err)
			assert.Equal(t, before, e.counts(), "nothing stored")
		})
	}

	t.Run("RevokedAfterFetch", func(t *testing.T) {
		digest := e.submit(e.seal(e.form(a, nil), ka, 1, ""))
		_, err := e.svc.RecordSubmission(e.ctx, e.envelope(digest))
		require.NoError(t, err)
		_, err = e.svc.OpenSubmission(e.ctx, digest)
		require.NoError(t, err)
		_, err = e.comm.Revoke(e.ctx, ka.ID(), "laptop lost", "operator")
		require.NoError(t, err)
		_, err = e.svc.RecordKeyList(e.ctx, e.keyList())
		require.NoError(t, err)
		_, err = e.svc.OpenSubmission(e.ctx, digest)
		var ke *review.KeyError
		require.ErrorAs(t, err, &ke, "opened again, it is verified again under the newer list")
		assert.Equal(t, review.KeyRevoked, ke.Reason)
	})
}

func TestKeyList(t *testing.T) {
	e := newEnv(t)
	old := e.keyList()
	e.clock.Advance(time.Minute)
	_, err := e.svc.RecordKeyList(e.ctx, old)
	require.NoError(t, err)
	e.enroll(e.stations()[0])
	newer := e.keyList()
	_, err = e.svc.RecordKeyList(e.ctx, newer)
	require.NoError(t, err)
	before := e.counts()
	_, err = e.svc.RecordKeyList(e.ctx, old)
	assert.ErrorIs(t, err, review.ErrStaleKeyList, "an old list could bring a revoked key back")
	_, err = e.svc.RecordKeyList(e.ctx, tamper(newer))
	assert.Error(t, err)
	forged, err := seal.Sign(enrollment.KeyListPayloadType, payloadOf(t, newer), electiontest.Key(strangerSeed))
	require.NoError(t, err)
	_, err = e.svc.RecordKeyList(e.ctx, forged)
	assert.ErrorIs(t, err, seal.ErrUntrusted)
	assert.Equal(t, before, e.counts())
}

func TestOpenSubmissionHistory(t *testing.T) {
	e := newEnv(t)
	a := e.stations()[0]
	ka := e.enroll(a)
	photo := photoOf(a, 1)
	f1 := e.form(a, func(f *election.Form) { f.Remarks = "Numërimi pa probleme." })
	v1 := e.submit(e.seal(f1, ka, 1, ""))
	// Version 2 moves two votes between the first two entities and
	// carries an error the paper form itself holds, confirmed by the chair.
	f2 := e.form(a, func(f *election.Form) {
		f.Counts[election.EntityField(1)] += 2
		f.Counts[election.EntityField(2)] -= 2
		f.Counts[election.FieldG]++
		f.Remarks = "Korrigjuar pas rinumërimit."
	})
	conf := election.Confirmation{Rule: "E.F-GH", Explanation: "Formulari në letër e ka kështu."}
	v2 := e.submit(e.seal(f2, ka, 2, v1, conf))
	e.refresh()
	require.NoError(t, e.svc.RecordPhoto(e.ctx, f2.PhotoSHA256, photo))

	s, err := e.svc.OpenSubmission(e.ctx, v2)
	require.NoError(t, err)
	assert.Equal(t, a.Code, s.Station.Code)
	assert.Equal(t, ka.ID(), s.SignedBy)
	assert.Equal(t, 2, s.Submission.Version)
	assert.Equal(t, f2.Counts, s.Submission.Form.Counts)
	assert.Equal(t, []election.Confirmation{conf}, s.Submission.Confirmed)
	assert.Equal(t, "E.F-GH", s.Findings[0].Code, "the validation results")
	assert.True(t, s.HavePhoto)
	assert.True(t, s.Head)
	require.Len(t, s.History, 2)
	assert.Equal(t, v1, s.History[0].Digest)
	assert.Empty(t, s.History[0].Changes)
	h := s.History[1]
	assert.Equal(t, v2, h.Digest)
	assert.True(t, h.Previous)
	fields := map[election.Field]review.Change{}
	for _, c := range h.Changes {
		fields[c.Field] = c
	}
	assert.Len(t, h.Changes, 5, "%+v", h.Changes)
	assert.Equal(t, review.Change{Field: election.EntityField(1), Before: itoa(f1.Counts[election.EntityField(1)]),
		After: itoa(f2.Counts[election.EntityField(1)])}, fields[election.EntityField(1)])
	assert.Contains(t, fields, election.EntityField(2))
	assert.Contains(t, fields, election.FieldG)
	assert.Equal(t, "Korrigjuar pas rinumërimit.", fields[election.FieldRemarks].After)
	assert.Equal(t, conf.Explanation, fields["confirmed:E.F-GH"].After)

	old, err := e.svc.OpenSubmission(e.ctx, v1)
	require.NoError(t, err)
	assert.False(t, old.Head)
	assert.Equal(t, 2, old.HeadVersion)

	data, err := e.svc.Photo(e.ctx, f2.PhotoSHA256)
	require.NoError(t, err)
	assert.Equal(t, photo, data)
	assert.ErrorIs(t, e.svc.RecordPhoto(e.ctx, f2.PhotoSHA256, append(photo, 0)), review.ErrPhotoMismatch)

	t.Run("Receipt", func(t *testing.T) {
		require.NoError(t, e.svc.RecordStation(e.ctx, e.stationRecord(a.Code)))
		s, err := e.svc.OpenSubmission(e.ctx, v2)
		require.NoError(t, err)
		require.NotNil(t, s.Receipt)
		assert.Equal(t, 2, s.Receipt.Version)
	})
	t.Run("ErrNotFetched", func(t *testing.T) {
		_, err := e.svc.OpenSubmission(e.ctx, sha([]byte("nothing")))
		assert.ErrorIs(t, err, review.ErrNotFound)
	})
}

func TestDecide(t *testing.T) {
	e := newEnv(t)
	a, b := e.stations()[0], e.stations()[1]
	ka, kb := e.enroll(a), e.enroll(b)
	v1 := e.submit(e.seal(e.form(a, nil), ka, 1, ""))
	v2 := e.submit(e.seal(e.form(a, func(f *election.Form) { f.Members++ }), ka, 2, v1))
	vb := e.submit(e.seal(e.form(b, nil), kb, 1, ""))
	e.refresh()
	before := e.counts()

	_, err := e.svc.Decide(e.ctx, v2, election.Return, "  ", e.key)
	assert.ErrorIs(t, err, review.ErrReasonRequired)
	_, err = e.svc.Decide(e.ctx, v1, election.Approve, "", e.key)
	assert.ErrorIs(t, err, review.ErrNotHead)
	_, err = e.svc.Decide(e.ctx, v2, election.Approve, "", electiontest.Key(strangerSeed))
	assert.ErrorIs(t, err, review.ErrWrongKey)
	_, err = e.svc.Decide(e.ctx, v2, "maybe", "", e.key)
	assert.Error(t, err)
	assert.Equal(t, before, e.counts(), "refused decisions change nothing")

	approved, err := e.svc.Decide(e.ctx, v2, election.Approve, "", e.key)
	require.NoError(t, err)
	returned, err := e.svc.Decide(e.ctx, vb, election.Return, "Fotografia nuk lexohet.", e.key)
	require.NoError(t, err)

	// The decision verifies under the supervisor's key, as the station checks it.
	ring, err := seal.NewKeyring(e.key.Public())
	require.NoError(t, err)
	opened, err := seal.Open(returned.Envelope, 1<<16, election.DecisionPayloadType, ring)
	require.NoError(t, err)
	dec, err := election.ParseDecision(opened.Payload)
	require.NoError(t, err)
	assert.Equal(t, election.Return, dec.Verdict)
	assert.Equal(t, "Fotografia nuk lexohet.", dec.Reason)
	assert.Equal(t, vb, dec.Submission)
	assert.Equal(t, b.Code, dec.Station)

	d, err := e.svc.Dashboard(e.ctx, review.Filter{})
	require.NoError(t, err)
	assert.Equal(t, review.Waiting, rowOf(t, d, a.Code).State, "signed, waiting in the outbox")
	assert.Equal(t, 2, d.Pending)

	pending, err := e.svc.PendingDecisions(e.ctx)
	require.NoError(t, err)
	require.Len(t, pending, 2)
	assert.Equal(t, approved.Digest, pending[0].Digest, "oldest first")
	for _, p := range pending {
		stored, err := e.comm.Decide(e.ctx, p.Decision.Envelope)
		require.NoError(t, err, "the commission accepts the decision")
		require.NoError(t, e.svc.RecordDecisionSent(e.ctx, p.Digest,
			review.DecisionAnswer{Digest: stored.Digest, ReceivedAt: stored.ReceivedAt}))
	}
	require.NoError(t, e.svc.RecordDecisionSent(e.ctx, approved.Digest, review.DecisionAnswer{Digest: approved.Digest}),
		"the same answer again changes nothing")
	assert.Error(t, e.svc.RecordDecisionSent(e.ctx, approved.Digest, review.DecisionAnswer{Digest: vb}))
	pending, err = e.svc.PendingDecisions(e.ctx)
	require.NoError(t, err)
	assert.Empty(t, pending)

	d, err = e.svc.Dashboard(e.ctx, review.Filter{})
	require.NoError(t, err)
	assert.Equal(t, review.Approved, rowOf(t, d, a.Code).State)
	assert.Equal(t, review.Returned, rowOf(t, d, b.Code).State)
	// The server says the same once fetched again.
	require.NoError(t, e.svc.RecordOverview(e.ctx, e.overview()))
	assert.Equal(t, review.ServerApproved, e.overview().Stations[0].Forms[0].State)

	s, err := e.svc.OpenSubmission(e.ctx, v2)
	require.NoError(t, err)
	require.Len(t, s.Decisions, 1)
	assert.True(t, s.Decisions[0].Delivered)

	n, _, err := e.svc.VerifyAudit(e.ctx)
	require.NoError(t, err)
	assert.Greater(t, n, uint64(10))
}

func TestDataAgeAndRestart(t *testing.T) {
	e := newEnv(t)
	a := e.stations()[0]
	ka := e.enroll(a)
	digest := e.submit(e.seal(e.form(a, nil), ka, 1, ""))
	d, err := e.svc.Dashboard(e.ctx, review.Filter{})
	require.NoError(t, err)
	assert.True(t, d.FetchedAt.IsZero(), "nothing fetched yet")
	assert.Equal(t, review.NotStarted, rowOf(t, d, a.Code).State)

	e.refresh()
	fetched := e.clock.Now()
	e.clock.Advance(7 * time.Minute)
	// The line is down: what was fetched stays, with its age, after a restart.
	e.reopen()
	d, err = e.svc.Dashboard(e.ctx, review.Filter{})
	require.NoError(t, err)
	assert.InDelta(t, 7*time.Minute, d.Age, float64(time.Second))
	assert.WithinDuration(t, fetched, d.FetchedAt, time.Second)
	assert.Equal(t, review.Received, rowOf(t, d, a.Code).State)
	_, err = e.svc.OpenSubmission(e.ctx, digest)
	require.NoError(t, err)

	// The same overview again moves the fetch time, and audits nothing.
	before := e.counts()
	require.NoError(t, e.svc.RecordOverview(e.ctx, e.overview()))
	assert.Equal(t, before, e.counts())
	d, err = e.svc.Dashboard(e.ctx, review.Filter{})
	require.NoError(t, err)
	assert.Less(t, d.Age, time.Second)

	n, _, err := e.svc.VerifyAudit(e.ctx)
	require.NoError(t, err)
	assert.Positive(t, n)
	require.NoError(t, e.store.IntegrityCheck(e.ctx))
}

func rowOf(t *testing.T, d *review.Dashboard, code string) review.StationRow {
	t.Helper()
	for _, r := range d.Stations {
		if r.Code == code {
			return r
		}
	}
	t.Fatalf("station %s is not on the dashboard", code)
	return review.StationRow{}
}

func codes(d *review.Dashboard) []string {
	var out []string
	for _, r := range d.Stations {
		out = append(out, r.Code)
	}
	return out
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// tamper flips one bit in the middle of a signed document's payload.
func tamper(raw []byte) []byte {
	out := append([]byte(nil), raw...)
	i := len(out) / 3
	for out[i] < 'B' || out[i] > 'Y' {
		i++
	}
	out[i]++
	return out
}

// changePayload changes the counts in an envelope's payload and keeps its
// signature: what an attacker between the station and the supervisor
// would do.
func changePayload(t *testing.T, raw []byte) []byte {
	t.Helper()
	var env map[string]any
	require.NoError(t, json.Unmarshal(raw, &env))
	payload, err := base64.StdEncoding.DecodeString(env["payload"].(string))
	require.NoError(t, err)
	var sub election.Submission
	require.NoError(t, json.Unmarshal(payload, &sub))
	sub.Form.Counts[election.EntityField(1)]++
	sub.Form.Counts[election.EntityField(2)]--
	payload, err = json.Marshal(sub)
	require.NoError(t, err)
	env["payload"] = base64.StdEncoding.EncodeToString(payload)
	out, err := json.Marshal(env)
	require.NoError(t, err)
	return out
}

func payloadOf(t *testing.T, raw []byte) []byte {
	t.Helper()
	env, err := seal.Parse(raw, 1<<24)
	require.NoError(t, err)
	return env.Payload
}
