package worker_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/enrollment"
	"tally/app/seal"
	"tally/app/station"
	"tally/server"
	"tally/sync/worker"
)

// supervisor enrolls a supervisor of the station's municipality with the
// commission and returns the key.
func (r *rig) supervisor(n byte) *seal.PrivateKey {
	r.t.Helper()
	key := seededKey(r.t, n)
	codes, err := r.comm.IssueCodes(r.ctx, enrollment.RoleSupervisor, []string{r.me.Municipality}, "test")
	require.NoError(r.t, err)
	req, err := enrollment.SignRequest(enrollment.Request{Election: r.def.Election.ID, Role: enrollment.RoleSupervisor,
		Unit: r.me.Municipality, Code: codes[0].Code, At: time.Now().UTC()}, key)
	require.NoError(r.t, err)
	_, err = r.comm.Enroll(r.ctx, req)
	require.NoError(r.t, err)
	return key
}

// decision signs a supervisor's verdict on a sealed version.
func (r *rig) decision(v *station.Version, verdict election.Verdict, reason string, key *seal.PrivateKey) []byte {
	r.t.Helper()
	payload, err := json.Marshal(election.Decision{Format: election.DecisionFormat, Election: r.def.Election.ID,
		Station: r.me.Code, Contest: v.Key.Contest, Form: v.Key.Form, Submission: v.Digest, Verdict: verdict,
		Reason: reason, DecidedAt: time.Now().UTC().Truncate(time.Second)})
	require.NoError(r.t, err)
	raw, err := seal.Sign(election.DecisionPayloadType, payload, key)
	require.NoError(r.t, err)
	return raw
}

func (r *rig) formState(key station.FormKey) station.FormStatus {
	r.t.Helper()
	st, err := r.st.Status(r.ctx)
	require.NoError(r.t, err)
	for _, f := range st.Forms {
		if f.Key == key {
			return f
		}
	}
	require.FailNow(r.t, "no such form", "%s", key)
	return station.FormStatus{}
}

// TestDecisionsReachTheStation: a supervisor returns one form and
// approves the other; the station's next sync stores both decisions,
// verified against the signed list of the municipality's supervisors,
// and the forms move to returned (with the reason) and approved.
func TestDecisionsReachTheStation(t *testing.T) {
	r := newRig(t)
	forms := r.forms()
	a, b := r.seal(forms[0], 1), r.seal(forms[1], 1)
	sup := r.supervisor(40)

	w, _ := r.worker()
	require.NoError(t, w.Drain(r.ctx), "without the key the outbox still goes")
	assert.True(t, w.State().ChecksNeedKey, "reading decisions waits for the PIN")
	assert.True(t, w.State().CheckedAt.IsZero())

	_, err := r.comm.Decide(r.ctx, r.decision(a, election.Return, "Line C does not match the paper", sup))
	require.NoError(t, err)
	_, err = r.comm.Decide(r.ctx, r.decision(b, election.Approve, "", sup))
	require.NoError(t, err)

	w.SetKey(r.key)
	require.NoError(t, w.Drain(r.ctx))
	s := w.State()
	assert.False(t, s.ChecksNeedKey)
	assert.False(t, s.CheckedAt.IsZero())
	assert.Equal(t, 2, s.Decisions)
	assert.Empty(t, s.LastError)

	fa := r.formState(a.Key)
	assert.Equal(t, station.StateReturned, fa.State)
	assert.Equal(t, "Line C does not match the paper", fa.Reason)
	assert.Equal(t, station.StateApproved, r.formState(b.Key).State)

	// Once more: nothing new, nothing changes.
	require.NoError(t, w.Drain(r.ctx))
	st, err := r.st.Status(r.ctx)
	require.NoError(t, err)
	assert.Len(t, st.Decisions, 2)
	assert.Equal(t, 2, w.State().Decisions)
}

// lying passes requests on, but answers the station's record with a
// decision the commission never had.
type lying struct {
	worker.Sender
	forged []byte
	digest string
}

func (l *lying) Station(ctx context.Context, code string) (*server.StationView, error) {
	v, err := l.Sender.Station(ctx, code)
	if err != nil {
		return nil, err
	}
	v.Decisions = append(v.Decisions, server.DecisionView{Digest: seal.Digest(l.forged), Submission: l.digest,
		Station: code, Verdict: election.Return, Envelope: l.forged})
	return v, nil
}

// TestAForgedDecisionIsNotStored: the station does not take the server's
// word for a decision: one signed by a key that is not an enrolled
// supervisor of its municipality is named in the state and not stored,
// and the form keeps its state.
func TestAForgedDecisionIsNotStored(t *testing.T) {
	r := newRig(t)
	forms := r.forms()
	a := r.seal(forms[0], 1)
	r.supervisor(40) // the municipality has a supervisor; the forger is not it
	forged := r.decision(a, election.Return, "forged", seededKey(t, 41))
	w := worker.New(r.st, &lying{Sender: r.client, forged: forged, digest: a.Digest}, worker.Options{})
	w.SetKey(r.key)
	require.NoError(t, w.Drain(r.ctx))

	s := w.State()
	assert.Equal(t, 0, s.Decisions)
	assert.Contains(t, s.LastError, "not stored")
	assert.Contains(t, s.LastError, seal.Digest(forged)[:12])
	assert.Equal(t, station.StateSealed, r.formState(a.Key).State)
	assert.True(t, r.formState(a.Key).Received)
	st, err := r.st.Status(r.ctx)
	require.NoError(t, err)
	assert.Empty(t, st.Decisions)
}

// TestAReceiptComesWithTheRecord: a version the commission stored, whose
// answers never reach the station, is marked delivered from the receipt
// in the station's record.
func TestAReceiptComesWithTheRecord(t *testing.T) {
	r := newRig(t)
	forms := r.forms()
	a := r.seal(forms[0], 1)
	// The commission has it (an earlier attempt whose answer was lost) …
	pending, err := r.st.Pending(r.ctx)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	_, err = r.comm.Submit(r.ctx, pending[0].Envelope)
	require.NoError(t, err)
	// … and every answer to this version is lost from now on.
	send := &silent{Sender: r.client, drops: map[string]int{a.Digest: 1 << 30}, tries: map[string]int{}}
	states := make(chan worker.State, 1024)
	w := worker.New(r.st, send, worker.Options{
		Backoff: worker.Backoff{Base: time.Hour, Max: time.Hour, Offline: time.Hour},
		OnState: func(s worker.State) { states <- s }})
	w.SetKey(r.key)
	ctx, cancel := context.WithTimeout(r.ctx, 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	delivered := false
	var last worker.State
wait:
	for !delivered {
		select {
		case s := <-states:
			last = s
			it, ok := itemOf(s, a.Digest)
			delivered = ok && it.Phase == worker.Delivered && s.Queued == 0
		case <-ctx.Done():
			break wait
		}
	}
	cancel()
	require.NoError(t, <-done)
	assert.True(t, delivered, "the outbox shows the version delivered; the last state: %+v", last)
	assert.True(t, r.formState(a.Key).Received, "the receipt in the record was stored")
	pending, err = r.st.Pending(r.ctx)
	require.NoError(t, err)
	assert.Empty(t, pending)
	assert.Equal(t, 1, send.tries[a.Digest], "one attempt, whose answer was lost")
}

// TestIdleWorkerKnowsIfOnline: with nothing to send and no key, a
// following worker still asks the server whether it is there, so that the
// screens do not call a connected station offline, nor the reverse.
func TestIdleWorkerKnowsIfOnline(t *testing.T) {
	for _, down := range []bool{false, true} {
		r := newRig(t)
		r.front.down.Store(down)
		states := make(chan worker.State, 64)
		w := worker.New(r.st, r.client, worker.Options{OnState: func(s worker.State) {
			select {
			case states <- s:
			default:
			}
		}})
		ctx, cancel := context.WithTimeout(r.ctx, 30*time.Second)
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		var got worker.State
	wait:
		for !got.ChecksNeedKey { // the state after the ping
			select {
			case got = <-states:
			case <-ctx.Done():
				break wait
			}
		}
		cancel()
		require.NoError(t, <-done)
		assert.Equal(t, !down, got.Online, "down: %v", down)
		assert.True(t, got.ChecksNeedKey)
		assert.Equal(t, 0, got.Queued)
		if down {
			assert.Contains(t, got.LastError, "the commission's server")
		} else {
			assert.Empty(t, got.LastError)
		}
		assert.Positive(t, r.front.hits.Load(), "the server was asked")
	}
}
