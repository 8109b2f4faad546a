package worker_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/seal"
	"tally/sync/client"
	"tally/sync/worker"
)

func TestDrainDeliversEverything(t *testing.T) {
	r := newRig(t)
	for _, k := range r.forms() {
		r.seal(k, 1)
	}
	w, _ := r.worker()
	w.SetKey(r.key)
	require.NoError(t, w.Drain(r.ctx))

	pending, err := r.st.Pending(r.ctx)
	require.NoError(t, err)
	assert.Empty(t, pending, "every version is receipted")
	st, err := r.st.Status(r.ctx)
	require.NoError(t, err)
	for _, f := range st.Forms {
		assert.True(t, f.Received, "%s", f.Key)
	}
	c := r.counts()
	assert.Equal(t, len(r.forms()), c.Submissions)
	assert.Equal(t, len(r.forms()), c.Attachments, "the photos went up")
	photos, err := r.st.PendingPhotos(r.ctx)
	require.NoError(t, err)
	assert.Empty(t, photos)
	s := w.State()
	assert.True(t, s.Online)
	assert.Zero(t, s.Queued)
	assert.Len(t, s.Items, len(r.forms()))
	for _, it := range s.Items {
		assert.Equal(t, worker.Delivered, it.Phase)
	}
}

func TestPhotosWaitForTheKey(t *testing.T) {
	r := newRig(t)
	r.seal(r.forms()[0], 1)
	w, _ := r.worker()
	require.NoError(t, w.Drain(r.ctx))
	s := w.State()
	assert.Zero(t, s.Queued, "submissions need no login")
	assert.Equal(t, 1, s.Photos)
	assert.True(t, s.PhotosNeedKey)
	w.SetKey(r.key)
	require.NoError(t, w.Drain(r.ctx))
	assert.Zero(t, w.State().Photos)
	assert.Equal(t, 1, r.counts().Attachments)
}

// TestRefusalHoldsTheForm: the commission refuses a version (another
// envelope of that version is stored); the refusal is kept with its
// reason, not retried, and the next version of the same form waits
// behind it, while the other form goes.
func TestRefusalHoldsTheForm(t *testing.T) {
	r := newRig(t)
	a, b := r.forms()[0], r.forms()[1]
	v1 := r.seal(a, 1)
	w, _ := r.worker()
	require.NoError(t, w.Drain(r.ctx))

	v2 := r.seal(a, 2)
	// Another envelope for version 2 reaches the commission first.
	var sub election.Submission
	env, err := seal.Parse(v2.Envelope, 1<<20)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(env.Payload, &sub))
	sub.SealedAt = sub.SealedAt.Add(time.Second)
	payload, err := json.Marshal(sub)
	require.NoError(t, err)
	rival, err := seal.Sign(election.SubmissionPayloadType, payload, r.key)
	require.NoError(t, err)
	require.Equal(t, v1.Digest, sub.Supersedes)
	_, err = r.comm.Submit(r.ctx, rival)
	require.NoError(t, err)

	v3 := r.seal(a, 3)
	r.seal(b, 1)
	require.NoError(t, w.Drain(r.ctx))
	phases := map[string]worker.Phase{}
	for _, it := range w.State().Items {
		phases[it.Digest] = it.Phase
	}
	assert.Equal(t, worker.Refused, phases[v2.Digest])
	assert.Equal(t, worker.Blocked, phases[v3.Digest], "the next version waits behind the refusal")
	pending, err := r.st.Pending(r.ctx)
	require.NoError(t, err)
	require.Len(t, pending, 2, "the refused version and the one behind it stay in the outbox")
	assert.True(t, pending[0].Delivery.Refused)
	assert.Contains(t, pending[0].Delivery.Reason, "already stored")
	hits := r.front.hits.Load()
	require.NoError(t, w.Drain(r.ctx))
	assert.Equal(t, hits, r.front.hits.Load(), "a refusal is not sent again")
	st, err := r.st.Status(r.ctx)
	require.NoError(t, err)
	for _, f := range st.Forms {
		if f.Key == b {
			assert.True(t, f.Received, "the other form went")
		}
	}
}

// TestDeliversWhenTheNetworkComesBack: with no server answering, the
// worker keeps the queue and tries again soon; once the server answers,
// the queue goes within the offline wait.
func TestDeliversWhenTheNetworkComesBack(t *testing.T) {
	r := newRig(t)
	r.front.down.Store(true)
	for _, k := range r.forms() {
		r.seal(k, 1)
	}
	w, states := r.worker()
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	attempts := 0
	for s := range states {
		if !s.Online && s.Queued == len(r.forms()) && len(s.Items) > 0 && s.Items[0].Phase == worker.Waiting {
			attempts++
			if attempts >= 3 {
				break
			}
		}
	}
	pending, err := r.st.Pending(r.ctx)
	require.NoError(t, err)
	require.Len(t, pending, len(r.forms()), "nothing is lost while the network is away")
	assert.GreaterOrEqual(t, pending[0].Delivery.Attempts, 1)

	back := time.Now()
	r.front.down.Store(false)
	for s := range states {
		if s.Queued == 0 {
			break
		}
	}
	took := time.Since(back)
	cancel()
	require.NoError(t, <-done)
	assert.Equal(t, len(r.forms()), r.counts().Submissions)
	t.Logf("queue delivered %v after the server came back", took)
}

// silent is a sender that gives no answer to the versions it is told to,
// like a network that drops some requests, and passes the rest on.
type silent struct {
	worker.Sender
	mu    sync.Mutex
	drops map[string]int // digest → attempts still to drop
	tries map[string]int
}

func (s *silent) Submit(ctx context.Context, digest string, envelope []byte) client.Outcome {
	s.mu.Lock()
	s.tries[digest]++
	drop := s.drops[digest] > 0
	if drop {
		s.drops[digest]--
	}
	s.mu.Unlock()
	if drop {
		return client.Outcome{Kind: client.Retry, Reason: "connection reset by peer"}
	}
	return s.Sender.Submit(ctx, digest, envelope)
}

// TestAnAnswerSendsWhatGotNone: a version whose attempt got no answer
// waits the offline wait; when another request is answered the network
// is back, and it goes then, without waiting out its wait or a Wake.
func TestAnAnswerSendsWhatGotNone(t *testing.T) {
	r := newRig(t)
	forms := r.forms()
	a := r.seal(forms[0], 1)
	b := r.seal(forms[1], 1)
	send := &silent{Sender: r.client, drops: map[string]int{a.Digest: 1}, tries: map[string]int{}}
	var states []worker.State
	w := worker.New(r.st, send, worker.Options{
		// Waits of an hour: the test ends long before any of them.
		Backoff: worker.Backoff{Base: time.Hour, Max: time.Hour, Offline: time.Hour},
		OnState: func(s worker.State) { states = append(states, s) },
	})
	ctx, cancel := context.WithTimeout(r.ctx, 30*time.Second)
	defer cancel()
	require.NoError(t, w.Drain(ctx), "drained without waiting out the hour")

	assert.Equal(t, 2, send.tries[a.Digest], "the silent version went again once the other was answered")
	assert.Equal(t, 1, send.tries[b.Digest])
	assert.Equal(t, 2, r.counts().Submissions)
	var sawWait bool
	for _, s := range states {
		if it, ok := itemOf(s, a.Digest); ok && it.Phase == worker.Waiting {
			sawWait = true
			assert.Equal(t, "connection reset by peer", it.Reason)
		}
	}
	assert.True(t, sawWait, "the first attempt's failure was shown")
}

func itemOf(s worker.State, digest string) (worker.Item, bool) {
	for _, it := range s.Items {
		if it.Digest == digest {
			return it, true
		}
	}
	return worker.Item{}, false
}
