package commission_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/commission"
	"tally/app/election"
	"tally/app/enrollment"
	"tally/app/seal"
)

func kind(t *testing.T, err error) commission.Kind {
	t.Helper()
	require.Error(t, err)
	return commission.KindOf(err)
}

func TestImportElection(t *testing.T) {
	e := newEnv(t)
	_, err := e.svc.ImportElection(e.ctx, twoMunicipalities(), seal.Fingerprint(seededKey(t, 1).ID()), "test")
	assert.Equal(t, commission.EConflict, kind(t, err), "a server holds one election")

	other := newEnvWithoutElection(t)
	_, err = other.svc.ImportElection(other.ctx, twoMunicipalities(), seal.Fingerprint(seededKey(t, 9).ID()), "test")
	assert.Equal(t, commission.EInvalid, kind(t, err), "a definition not signed by the printed key")
	tampered := append([]byte(nil), twoMunicipalities()...)
	tampered[len(tampered)/3] ^= 1
	_, err = other.svc.ImportElection(other.ctx, tampered, seal.Fingerprint(seededKey(t, 1).ID()), "test")
	assert.Equal(t, commission.EInvalid, kind(t, err))
	_, err = other.svc.SignedElection(other.ctx)
	assert.ErrorIs(t, err, commission.ErrNoElection, "nothing was imported")
}

func TestEnroll(t *testing.T) {
	e := newEnv(t)
	st := e.station(0)
	key := seededKey(t, 10)
	req := e.request(enrollment.RoleStation, st.Code, e.codes["station/"+st.Code], key)
	k, err := e.svc.Enroll(e.ctx, req)
	require.NoError(t, err)
	assert.Equal(t, key.ID(), k.ID)
	assert.Equal(t, st.Code, k.Unit)
	again, err := e.svc.Enroll(e.ctx, req)
	require.NoError(t, err, "the same request again is answered the same")
	assert.Equal(t, k.ID, again.ID)

	before := e.counts()
	for name, tc := range map[string]struct {
		raw  []byte
		want commission.Kind
	}{
		"ErrUsedCode":      {e.request(enrollment.RoleStation, st.Code, e.codes["station/"+st.Code], seededKey(t, 11)), commission.EForbidden},
		"ErrUnknownCode":   {e.request(enrollment.RoleStation, e.station(1).Code, "AAAAA-BBBBB-CCCCC", seededKey(t, 12)), commission.EForbidden},
		"ErrOtherUnitCode": {e.request(enrollment.RoleStation, e.station(1).Code, e.codes["station/"+e.station(2).Code], seededKey(t, 13)), commission.EForbidden},
		"ErrRoleCode":      {e.request(enrollment.RoleSupervisor, st.Municipality, e.codes["station/"+e.station(3).Code], seededKey(t, 14)), commission.EForbidden},
		"ErrUnknownUnit":   {e.request(enrollment.RoleStation, "99999Z", e.codes["station/"+e.station(4).Code], seededKey(t, 15)), commission.ENotFound},
		"ErrMalformed":     {[]byte(`{"payloadType":`), commission.EInvalid},
		"ErrForged": {func() []byte {
			raw := e.request(enrollment.RoleStation, e.station(5).Code, e.codes["station/"+e.station(5).Code], seededKey(t, 16))
			var env map[string]any
			require.NoError(t, json.Unmarshal(raw, &env))
			env["signatures"].([]any)[0].(map[string]any)["keyid"] = seededKey(t, 17).ID()
			out, _ := json.Marshal(env)
			return out
		}(), commission.EInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.svc.Enroll(e.ctx, tc.raw)
			assert.Equal(t, tc.want, kind(t, err), "%v", err)
		})
	}
	assert.Equal(t, before, e.counts(), "refused enrollments store nothing")

	t.Run("NewCodeRetiresOld", func(t *testing.T) {
		st := e.station(6)
		old := e.codes["station/"+st.Code]
		codes, err := e.svc.IssueCodes(e.ctx, enrollment.RoleStation, []string{st.Code}, "test")
		require.NoError(t, err)
		_, err = e.svc.Enroll(e.ctx, e.request(enrollment.RoleStation, st.Code, old, seededKey(t, 18)))
		assert.Equal(t, commission.EForbidden, kind(t, err))
		_, err = e.svc.Enroll(e.ctx, e.request(enrollment.RoleStation, st.Code, codes[0].Code, seededKey(t, 18)))
		require.NoError(t, err)
	})
}

func TestSubmit(t *testing.T) {
	e := newEnv(t)
	a, b := e.station(0), e.station(1)
	keyA := e.enroll(enrollment.RoleStation, a.Code, 10)
	keyB := e.enroll(enrollment.RoleStation, b.Code, 11)

	v1 := e.sealed(a, keyA, 1, "", 0)
	r1, err := e.svc.Submit(e.ctx, v1)
	require.NoError(t, err)
	assert.False(t, r1.Repeat)
	rc := e.receiptOf(r1.Envelope)
	assert.Equal(t, digest(v1), rc.Submission)
	assert.Equal(t, a.Code, rc.Station)
	assert.Equal(t, 1, rc.Version)
	assert.Equal(t, r1.Submission.Number, rc.Number)

	again, err := e.svc.Submit(e.ctx, v1)
	require.NoError(t, err)
	assert.True(t, again.Repeat)
	assert.Equal(t, r1.Envelope, again.Envelope, "the same envelope gets the same receipt, byte for byte")

	before := e.counts()
	_, err = e.svc.Submit(e.ctx, e.sealed(a, keyA, 1, "", 1))
	assert.Equal(t, commission.EConflict, kind(t, err), "another envelope for a stored version")
	_, err = e.svc.Submit(e.ctx, e.sealed(a, keyA, 1, "", 1))
	assert.Equal(t, commission.EConflict, kind(t, err))
	assert.Equal(t, before.Conflicts+1, e.counts().Conflicts, "the same conflicting envelope is recorded once")

	v2 := e.sealed(a, keyA, 2, digest(v1), 0)
	r2, err := e.svc.Submit(e.ctx, v2)
	require.NoError(t, err)
	assert.Greater(t, r2.Submission.Number, r1.Submission.Number)
	_, err = e.svc.Submit(e.ctx, e.sealed(a, keyA, 3, digest(v1), 0))
	assert.Equal(t, commission.EConflict, kind(t, err), "a version that does not supersede the head")
	_, err = e.svc.Submit(e.ctx, e.sealed(b, keyB, 2, digest(v1), 0))
	assert.Equal(t, commission.EConflict, kind(t, err), "version 2 with nothing stored")

	conflicts, err := readConflicts(e, a.Municipality)
	require.NoError(t, err)
	assert.Len(t, conflicts, 3)

	before = e.counts()
	refused := map[string]struct {
		raw  []byte
		want commission.Kind
	}{
		"ErrOtherStationsForm": {e.sealed(b, keyA, 1, "", 0), commission.EForbidden},
		"ErrNotEnrolled":       {e.sealed(b, seededKey(t, 40), 1, "", 0), commission.EUnauthorized},
		"ErrTampered": {func() []byte {
			raw := e.sealed(b, keyB, 1, "", 0)
			raw[len(raw)/2] ^= 1
			return raw
		}(), commission.EInvalid},
		"ErrTruncated": {e.sealed(b, keyB, 1, "", 0)[:200], commission.EInvalid},
		"ErrNotASubmission": {func() []byte {
			raw, err := seal.Sign("application/vnd.tally.other+json", []byte(`{}`), keyB)
			require.NoError(t, err)
			return raw
		}(), commission.EInvalid},
	}
	for name, tc := range refused {
		t.Run(name, func(t *testing.T) {
			_, err := e.svc.Submit(e.ctx, tc.raw)
			assert.Equal(t, tc.want, kind(t, err), "%v", err)
		})
	}
	assert.Equal(t, before, e.counts(), "refused submissions store nothing")

	t.Run("ErrRevoked", func(t *testing.T) {
		vb := e.sealed(b, keyB, 1, "", 5)
		before, err := e.svc.Submit(e.ctx, vb)
		require.NoError(t, err)
		_, err = e.svc.Revoke(e.ctx, keyB.ID(), "laptop stolen", "test")
		require.NoError(t, err)
		again, err := e.svc.Submit(e.ctx, vb)
		require.NoError(t, err, "what the key sent before its revocation still gets its receipt")
		assert.Equal(t, before.Envelope, again.Envelope)
		_, err = e.svc.Submit(e.ctx, e.sealed(b, keyB, 2, digest(vb), 0))
		assert.Equal(t, commission.EForbidden, kind(t, err), "nothing new from a revoked key")
		again, err = e.svc.Submit(e.ctx, v1)
		require.NoError(t, err, "another station's submissions stay answered")
		assert.True(t, again.Repeat)
	})

	n, _, err := e.svc.VerifyAudit(e.ctx)
	require.NoError(t, err)
	assert.Greater(t, n, uint64(5))
}

func readConflicts(e *env, municipality string) ([]commission.Conflict, error) {
	var cs []commission.Conflict
	err := e.store.View(e.ctx, func(r commission.Reader) error {
		var err error
		cs, err = r.Conflicts(municipality, "")
		return err
	})
	return cs, err
}

// TestGroupCommit sends every station's submission at once: each gets its
// own receipt number, all are stored, the audit chain verifies.
func TestGroupCommit(t *testing.T) {
	e := newEnv(t)
	n := min(len(e.def.Stations), 60)
	envs := make([][]byte, n)
	for i := range n {
		envs[i] = e.sealed(e.station(i), e.enroll(enrollment.RoleStation, e.station(i).Code, byte(100+i)), 1, "", 0)
	}
	numbers := make([]uint64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := e.svc.Submit(e.ctx, envs[i])
			if assert.NoError(t, err) {
				numbers[i] = e.receiptOf(r.Envelope).Number
			}
		})
	}
	wg.Wait()
	seen := map[uint64]bool{}
	for _, num := range numbers {
		assert.False(t, seen[num], "receipt number %d given twice", num)
		seen[num] = true
	}
	assert.Equal(t, n, e.counts().Submissions)
	_, _, err := e.svc.VerifyAudit(e.ctx)
	require.NoError(t, err)
}

// TestSubmitWaitsForACheckSlot: while every slot for checking is taken, a
// submission waits; one whose caller gives up meanwhile is refused with
// its context's error and nothing of it is stored, and one that waits
// long enough is checked and stored.
func TestSubmitWaitsForACheckSlot(t *testing.T) {
	e := newEnv(t)
	st := e.station(0)
	env := e.sealed(st, e.enroll(enrollment.RoleStation, st.Code, 100), 1, "", 0)
	release := e.svc.HoldChecks()
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	_, err := e.svc.Submit(ctx, env)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 0, e.counts().Submissions)

	done := make(chan error, 1)
	go func() {
		_, err := e.svc.Submit(e.ctx, env)
		done <- err
	}()
	release()
	require.NoError(t, <-done)
	assert.Equal(t, 1, e.counts().Submissions)
}

// TestCloseCommitsWhatItTook: a submission is either refused as
// unavailable, to be sent again, or receipted and stored; never lost.
func TestCloseCommitsWhatItTook(t *testing.T) {
	e := newEnv(t)
	n := min(len(e.def.Stations), 40)
	envs := make([][]byte, n)
	for i := range n {
		envs[i] = e.sealed(e.station(i), e.enroll(enrollment.RoleStation, e.station(i).Code, byte(100+i)), 1, "", 0)
	}
	receipted := make([]bool, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, err := e.svc.Submit(e.ctx, envs[i])
			if err != nil {
				assert.Equal(t, commission.EUnavailable, commission.KindOf(err), "%v", err)
				return
			}
			receipted[i] = true
		})
	}
	close(start)
	e.svc.Close()
	wg.Wait()
	for i := range n {
		if !receipted[i] {
			continue
		}
		require.NoError(t, e.store.View(e.ctx, func(r commission.Reader) error {
			_, err := r.Submission(digest(envs[i]))
			return err
		}), "a receipted submission is stored")
	}
}

func TestDecide(t *testing.T) {
	e := newEnv(t)
	a := e.station(0)
	key := e.enroll(enrollment.RoleStation, a.Code, 10)
	sup := e.enroll(enrollment.RoleSupervisor, a.Municipality, 20)
	var otherMunicipality string
	for _, m := range e.def.Municipalities {
		if m.Code != a.Municipality {
			otherMunicipality = m.Code
		}
	}
	outsider := e.enroll(enrollment.RoleSupervisor, otherMunicipality, 21)
	v1 := e.sealed(a, key, 1, "", 0)
	_, err := e.svc.Submit(e.ctx, v1)
	require.NoError(t, err)

	decision := func(by *seal.PrivateKey, verdict election.Verdict, reason string) []byte {
		payload, err := json.Marshal(election.Decision{Format: election.DecisionFormat, Election: e.def.Election.ID,
			Station: a.Code, Contest: a.Forms[0].Contest, Form: a.Forms[0].Form, Submission: digest(v1),
			Verdict: verdict, Reason: reason, DecidedAt: time.Date(2026, 10, 4, 21, 0, 0, 0, time.UTC)})
		require.NoError(t, err)
		raw, err := seal.Sign(election.DecisionPayloadType, payload, by)
		require.NoError(t, err)
		return raw
	}
	d, err := e.svc.Decide(e.ctx, decision(sup, election.Return, "Fotografia mungon."))
	require.NoError(t, err)
	assert.Equal(t, election.Return, d.Verdict)
	_, err = e.svc.Decide(e.ctx, decision(sup, election.Return, "Fotografia mungon."))
	require.NoError(t, err, "the same decision again")
	_, err = e.svc.Decide(e.ctx, decision(outsider, election.Approve, ""))
	assert.Equal(t, commission.EForbidden, kind(t, err), "another municipality's supervisor")
	_, err = e.svc.Decide(e.ctx, decision(key, election.Approve, ""))
	assert.Equal(t, commission.EForbidden, kind(t, err), "a station cannot decide")
	assert.Equal(t, 1, e.counts().Decisions)
}

func TestUpload(t *testing.T) {
	e := newEnv(t)
	a := e.station(0)
	key := e.enroll(enrollment.RoleStation, a.Code, 10)
	photo := append([]byte{0xFF, 0xD8, 0xFF}, make([]byte, 3000)...)
	sha := digest(photo)
	_, err := e.svc.Upload(e.ctx, a.Code, sha, int64(len(photo)), 0, photo[:1000])
	assert.Equal(t, commission.EForbidden, kind(t, err), "no submission names the photo yet")

	l, err := e.def.Layout(a.Forms[0].Contest, a.Forms[0].Form)
	require.NoError(t, err)
	f := election.DemoForm(e.def, l, a, 1)
	f.PhotoSHA256 = sha
	payload, err := json.Marshal(election.Submission{Format: election.SubmissionFormat, Form: *f, Version: 1,
		SealedAt: time.Date(2026, 10, 4, 19, 30, 0, 0, time.UTC), Sequence: 1})
	require.NoError(t, err)
	raw, err := seal.Sign(election.SubmissionPayloadType, payload, key)
	require.NoError(t, err)
	_, err = e.svc.Submit(e.ctx, raw)
	require.NoError(t, err)

	size := int64(len(photo))
	u, err := e.svc.Upload(e.ctx, a.Code, sha, size, 0, photo[:1000])
	require.NoError(t, err)
	assert.Equal(t, int64(1000), u.Received)
	u, err = e.svc.Upload(e.ctx, a.Code, sha, size, 500, photo[500:1500])
	assert.Equal(t, commission.EConflict, kind(t, err), "a part from the wrong offset")
	assert.Equal(t, int64(1000), u.Received, "the answer says where to resume")
	_, err = e.svc.Upload(e.ctx, a.Code, sha, size, 1000, photo[1000:2000])
	require.NoError(t, err)
	u, err = e.svc.Upload(e.ctx, a.Code, sha, size, 2000, photo[2000:])
	require.NoError(t, err)
	assert.Equal(t, size, u.Received)
	assert.Equal(t, 1, e.counts().Attachments)

	t.Run("ErrWrongBytes", func(t *testing.T) {
		other := append([]byte{0xFF, 0xD8, 0xFF}, make([]byte, 10)...)
		wrong := digest(append(other, 1))
		_, err := e.svc.Upload(e.ctx, a.Code, wrong, int64(len(other)), 0, other)
		assert.Equal(t, commission.EForbidden, kind(t, err), "not named by a submission")
	})
}

func newEnvWithoutElection(tb testing.TB) *env {
	tb.Helper()
	e := &env{t: tb}
	e.ctx = context.Background()
	store := openStore(tb)
	e.store = store
	e.svc = commission.New(store, commission.Options{ReceiptKey: seededKey(tb, 2)})
	tb.Cleanup(e.svc.Close)
	return e
}

// TestBatchOfOneForm: a group commit that holds several versions of one
// form decides each against what the batch stored before it.
func TestBatchOfOneForm(t *testing.T) {
	e := newEnv(t)
	a, b := e.station(0), e.station(1)
	keyA := e.enroll(enrollment.RoleStation, a.Code, 10)
	keyB := e.enroll(enrollment.RoleStation, b.Code, 11)
	a1, b1 := e.sealed(a, keyA, 1, "", 0), e.sealed(b, keyB, 1, "", 0)
	a2 := e.sealed(a, keyA, 2, digest(a1), 0)
	a3 := e.sealed(a, keyA, 3, digest(a2), 0)
	b2 := e.sealed(b, keyB, 2, digest(b1), 0)
	b3 := e.sealed(b, keyB, 3, digest(b2), 0)
	other := e.sealed(a, keyA, 2, digest(a1), 1) // another envelope for version 2

	_, errs := e.svc.CommitInOneBatch(e.ctx, [][]byte{a1, b1})
	require.Equal(t, []error{nil, nil}, errs)

	receipts, errs := e.svc.CommitInOneBatch(e.ctx, [][]byte{a2, a3, a2, other, b3, b2})
	for i, want := range []commission.Kind{"", "", "", commission.EConflict, commission.EConflict, ""} {
		if want == "" {
			require.NoError(t, errs[i], "submission %d", i)
			continue
		}
		assert.Equal(t, want, kind(t, errs[i]), "submission %d: %v", i, errs[i])
	}
	assert.False(t, receipts[0].Repeat, "version 2 after the stored version 1")
	assert.False(t, receipts[1].Repeat, "version 3 after the version 2 stored earlier in the batch")
	assert.True(t, receipts[2].Repeat, "version 2 again")
	assert.Equal(t, receipts[0].Envelope, receipts[2].Envelope)
	assert.False(t, receipts[5].Repeat, "version 2 of b, after its version 3 was refused")
	assert.Greater(t, receipts[1].Submission.Number, receipts[0].Submission.Number)

	var headA, headB *commission.Submission
	require.NoError(t, e.store.View(e.ctx, func(r commission.Reader) error {
		var err error
		if headA, err = r.Head(receipts[0].Submission.FormRef); err != nil {
			return err
		}
		headB, err = r.Head(receipts[5].Submission.FormRef)
		return err
	}))
	assert.Equal(t, digest(a3), headA.Digest)
	assert.Equal(t, digest(b2), headB.Digest)
	_, _, err := e.svc.VerifyAudit(e.ctx)
	require.NoError(t, err)
}
