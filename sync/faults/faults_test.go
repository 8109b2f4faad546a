package faults_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/audit"
	"tally/app/election"
	"tally/app/seal"
	"tally/app/station"
	"tally/sync/client"
	"tally/sync/faults"
	"tally/sync/faults/harness"
	"tally/sync/worker"
)

// Each test puts one fault between a real station and a real tallyd and
// checks the same end (rig.finish): every sealed version delivered
// exactly once, its receipt verified and kept, nothing left in the
// outbox, nothing doubled — and, on the way, that nothing left the outbox
// while the fault lasted and that the worker showed why it waited.

// TestConnectionRefused: nothing listens at the server's address; the
// station keeps its queue and tries again soon, then delivers it all
// once something answers.
func TestConnectionRefused(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.proxy.Down()
	vs := r.sealQueue()
	r.run()

	s := r.waitFor("a retry after a refused connection", retrying(vs[0].Digest, 3, "connection refused"))
	assert.False(t, s.Online)
	assert.Equal(t, len(vs), s.Queued)
	assert.NotEmpty(t, s.LastError)
	r.requireHeld()
	assert.Empty(t, r.sends(vs[0].Digest), "nothing got through")

	require.NoError(t, r.proxy.Up())
	r.waitDelivered()
	r.wentThrough(vs[0].Digest, worker.Queued, worker.Sending, worker.Waiting, worker.Sending, worker.Delivered)
	r.finish()
}

// TestServerErrors: the server (or a gateway before it) answers 500, 502,
// 503 or 408, or a firewall answers 403 with its own page, for a while;
// the station retries with backoff, shows the status, and delivers
// everything once the answers are good again. With "AfterStored", the
// gateway's 502 comes after tallyd stored the submission: the retry gets
// the receipt of what was stored.
func TestServerErrors(t *testing.T) {
	cases := []struct {
		name  string
		fault faults.Fault
		why   string // in the reason shown
	}{
		{"500", faults.Fault{Kind: faults.Status, Status: http.StatusInternalServerError}, "Internal Server Error"},
		{"502", faults.Fault{Kind: faults.Status, Status: http.StatusBadGateway}, "Bad Gateway"},
		{"503", faults.Fault{Kind: faults.Status, Status: http.StatusServiceUnavailable}, "Service Unavailable"},
		{"408", faults.Fault{Kind: faults.Status, Status: http.StatusRequestTimeout}, "Request Timeout"},
		{"502AfterStored", faults.Fault{Kind: faults.Status, Status: http.StatusBadGateway, Forward: true}, "Bad Gateway"},
		// A 4xx that is not the commission's own document is a firewall's
		// or a proxy's, not a refusal: the commission never saw it.
		{"403FromAFirewall", faults.Fault{Kind: faults.Status, Status: http.StatusForbidden}, "not the commission's"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, rigOptions{})
			vs := r.sealQueue()
			r.proxy.SetFault(c.fault)
			r.run()

			s := r.waitFor("a retry after "+c.name, retrying(vs[0].Digest, 3, c.why))
			assert.True(t, s.Online, "a server answered")
			r.requireHeld()
			for _, ev := range r.sends(vs[0].Digest) {
				assert.Equal(t, c.fault.Status, ev.Status)
				if c.fault.Forward {
					assert.Contains(t, []int{http.StatusCreated, http.StatusOK}, ev.Upstream)
				} else {
					assert.Zero(t, ev.Upstream)
				}
			}

			r.proxy.SetFault(faults.Fault{Kind: faults.None})
			r.waitDelivered()
			r.wentThrough(vs[0].Digest, worker.Queued, worker.Sending, worker.Waiting, worker.Sending, worker.Delivered)
			r.finish()
			if c.fault.Forward {
				sends := r.sends(vs[0].Digest)
				assert.Equal(t, http.StatusCreated, sends[0].Upstream, "stored at the first attempt")
				assert.Equal(t, http.StatusOK, sends[len(sends)-1].Upstream, "a repeat at the last")
			}
		})
	}
}

// TestTooManyRequests: a 429 with Retry-After; the version is not sent
// again before the server's time, then goes.
func TestTooManyRequests(t *testing.T) {
	r := newRig(t, rigOptions{})
	vs := r.sealQueue()
	r.proxy.Script(faults.Fault{Kind: faults.Status, Status: http.StatusTooManyRequests, RetryAfter: "1",
		Target: faults.Submissions + vs[0].Digest})
	r.run()

	s := r.waitFor("a retry after 429", retrying(vs[0].Digest, 1, http.StatusText(http.StatusTooManyRequests)))
	it, _ := harness.Item(s, vs[0].Digest)
	sends := r.sends(vs[0].Digest)
	require.NotEmpty(t, sends)
	assert.GreaterOrEqual(t, it.RetryAt.Sub(sends[0].At), time.Second, "the retry is set after Retry-After")

	r.waitDelivered()
	sends = r.sends(vs[0].Digest)
	require.Len(t, sends, 2)
	assert.Equal(t, http.StatusTooManyRequests, sends[0].Status)
	assert.GreaterOrEqual(t, sends[1].At.Sub(sends[0].At), time.Second, "sent again before its Retry-After")
	r.wentThrough(vs[0].Digest, worker.Queued, worker.Sending, worker.Waiting, worker.Sending, worker.Delivered)
	r.finish()
}

// TestResetInTheRequest: the connection breaks after part of the
// submission went out (tallyd gets it cut short); nothing is stored from
// the broken request, and the version goes whole later.
func TestResetInTheRequest(t *testing.T) {
	r := newRig(t, rigOptions{})
	vs := r.sealQueue()
	r.proxy.Script(faults.Times(3, faults.Fault{Kind: faults.ResetRequest, After: 200, Target: faults.Submissions})...)
	r.run()

	s := r.waitFor("a retry after a reset", retrying(vs[0].Digest, 1, "the connection"))
	assert.False(t, s.Online, "no answer came")
	r.waitDelivered()
	sends := r.sends(vs[0].Digest)
	require.GreaterOrEqual(t, len(sends), 2)
	assert.Equal(t, faults.ResetRequest, sends[0].Fault)
	assert.Zero(t, sends[0].Status)
	assert.Zero(t, sends[0].Upstream, "tallyd did not answer a request cut short")
	assert.Equal(t, []worker.Phase{worker.Queued, worker.Sending, worker.Waiting}, r.phases(vs[0].Digest)[:3])
	for _, ev := range sends {
		if ev.Fault == faults.None {
			assert.Equal(t, http.StatusCreated, ev.Upstream, "the cut request stored nothing: the whole one is new")
			break
		}
	}
	r.wentThrough(vs[0].Digest, worker.Queued, worker.Sending, worker.Waiting, worker.Sending, worker.Delivered)
	r.finish()
}

// TestResetInTheResponse: tallyd stores the submission, and the
// connection breaks while its receipt is on the way back; the retry gets
// the same receipt, byte for byte.
func TestResetInTheResponse(t *testing.T) {
	r := newRig(t, rigOptions{})
	vs := r.sealQueue()
	r.proxy.Script(faults.Fault{Kind: faults.ResetResponse, After: 40, Target: faults.Submissions})
	r.run()

	r.waitFor("a retry after a reset", retrying(vs[0].Digest, 1, "the connection"))
	r.waitDelivered()
	sends := r.sends(vs[0].Digest)
	require.Len(t, sends, 2)
	assert.Equal(t, http.StatusCreated, sends[0].Upstream)
	assert.Zero(t, sends[0].Status, "the station did not get the receipt")
	assert.Equal(t, http.StatusOK, sends[1].Upstream, "a repeat")
	assert.Equal(t, string(sends[0].Held), string(r.receipts()[vs[0].Digest].Envelope), "the same receipt")
	r.wentThrough(vs[0].Digest, worker.Queued, worker.Sending, worker.Waiting, worker.Sending, worker.Delivered)
	r.finish()
}

// TestStallAfterStored: tallyd stores the submission, and its answer is
// held until the client gives up; the retry gets the same receipt.
func TestStallAfterStored(t *testing.T) {
	r := newRig(t, rigOptions{timeout: 300 * time.Millisecond})
	vs := r.sealQueue()
	r.proxy.Script(faults.Fault{Kind: faults.Stall, Target: faults.Submissions})
	r.run()

	s := r.waitFor("a retry after a timeout", retrying(vs[0].Digest, 1, "no answer within"))
	assert.False(t, s.Online)
	r.waitDelivered()
	sends := r.sends(vs[0].Digest)
	require.Len(t, sends, 2)
	assert.Equal(t, faults.Stall, sends[0].Fault)
	assert.Equal(t, http.StatusCreated, sends[0].Upstream, "stored at the first attempt")
	assert.Equal(t, http.StatusOK, sends[1].Upstream, "a repeat")
	assert.Equal(t, string(sends[0].Held), string(r.receipts()[vs[0].Digest].Envelope), "the same receipt")
	r.wentThrough(vs[0].Digest, worker.Queued, worker.Sending, worker.Waiting, worker.Sending, worker.Delivered)
	r.finish()
}

// TestCaptivePortal: every request is answered 200 with a login page;
// nothing counts as delivered and nothing reaches tallyd until the
// portal lets the station through.
func TestCaptivePortal(t *testing.T) {
	r := newRig(t, rigOptions{})
	vs := r.sealQueue()
	mark := len(r.proxy.Events())
	r.proxy.SetFault(faults.Fault{Kind: faults.CaptivePortal})
	r.run()

	r.waitFor("a retry after a captive portal", retrying(vs[0].Digest, 3, "does not count as delivered"))
	r.waitFor("the other form retried too", retrying(vs[1].Digest, 3, "does not count as delivered"))
	r.requireHeld()
	for _, ev := range r.proxy.Events()[mark:] {
		assert.Zero(t, ev.Upstream, "%s %s reached tallyd", ev.Method, ev.Path)
		assert.Equal(t, http.StatusOK, ev.Status)
	}

	r.proxy.SetFault(faults.Fault{Kind: faults.None})
	r.waitDelivered()
	r.wentThrough(vs[0].Digest, worker.Queued, worker.Sending, worker.Waiting, worker.Sending, worker.Delivered)
	r.finish()
}

// TestBadReceipt: tallyd stores the submission and answers 201, but the
// receipt the station gets is signed by another key, or carries a
// signature altered on the way; it is not a delivery: the version stays
// in the outbox until a receipt that verifies comes.
func TestBadReceipt(t *testing.T) {
	for name, signer := range map[string]faults.Fault{
		"AnotherKey":       {Kind: faults.BadReceipt, Signer: harness.SeedKey(99, "stranger"), Target: faults.Submissions},
		"AlteredSignature": {Kind: faults.BadReceipt, Target: faults.Submissions},
	} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, rigOptions{})
			vs := r.sealQueue()
			r.proxy.SetFault(signer)
			r.run()

			s := r.waitFor("a retry after a forged receipt", retrying(vs[0].Digest, 3, "receipt key did not sign"))
			assert.True(t, s.Online)
			r.requireHeld()
			sends := r.sends(vs[0].Digest)
			assert.Equal(t, http.StatusCreated, sends[0].Upstream)
			assert.Equal(t, http.StatusOK, sends[len(sends)-1].Upstream)

			r.proxy.SetFault(faults.Fault{Kind: faults.None})
			r.waitDelivered()
			r.wentThrough(vs[0].Digest, worker.Queued, worker.Sending, worker.Waiting, worker.Sending, worker.Delivered)
			r.finish()
		})
	}
}

// TestRefusal: the commission refuses a version (its problem document,
// 403, 409 or 422); the version stops there with the commission's reason,
// is audited, stays in the outbox, is not sent again, and holds back the
// correction behind it while the other form goes. When the user puts it
// back, it goes.
func TestRefusal(t *testing.T) {
	for _, status := range []int{http.StatusForbidden, http.StatusConflict, http.StatusUnprocessableEntity} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			r := newRig(t, rigOptions{})
			vs := r.sealQueue()
			reason := "the station's key is suspended while the commission checks it"
			r.proxy.Script(faults.Fault{Kind: faults.Refuse, Status: status, Detail: reason,
				Target: faults.Submissions + vs[0].Digest})
			r.run()

			// The drain ends: nothing is left to send now.
			r.waitDrained()
			s := r.w.State()
			it, _ := harness.Item(s, vs[0].Digest)
			assert.Equal(t, worker.Refused, it.Phase)
			assert.Equal(t, reason, it.Reason, "the commission's reason, for the user")
			it, _ = harness.Item(s, vs[2].Digest)
			assert.Equal(t, worker.Blocked, it.Phase, "the correction waits behind the refusal")
			it, _ = harness.Item(s, vs[1].Digest)
			assert.Equal(t, worker.Delivered, it.Phase, "the other form went")
			assert.Equal(t, 2, s.Queued)

			p := r.pending()
			require.Contains(t, p, vs[0].Digest, "a refused version stays in the outbox")
			require.Contains(t, p, vs[2].Digest)
			assert.True(t, p[vs[0].Digest].Delivery.Refused)
			assert.Equal(t, reason, p[vs[0].Digest].Delivery.Reason)
			assert.NotContains(t, r.receipts(), vs[0].Digest)

			// Not sent again, however often the worker looks.
			for range 3 {
				require.NoError(t, r.w.Drain(r.ctx))
			}
			assert.Len(t, r.sends(vs[0].Digest), 1, "a refusal is sent once")
			assert.Empty(t, r.sends(vs[2].Digest), "nothing goes past a refusal")
			audited := false
			require.NoError(t, r.st.File.View(r.ctx, func(rd station.Reader) error {
				return rd.AuditRecords(func(a audit.Record) error {
					var d struct{ Digest, Reason string }
					if a.Action == "delivery.refused" && json.Unmarshal(a.Details, &d) == nil &&
						d.Digest == vs[0].Digest && d.Reason == reason {
						audited = true
					}
					return nil
				})
			}))
			assert.True(t, audited, "the refusal is in the station's audit log, for the supervisor")

			// The user puts it back once the commission has put things right.
			require.NoError(t, r.st.Svc.RetryRefused(r.ctx, vs[0].Digest, "Arta Krasniqi"))
			r.run()
			r.waitDelivered()
			r.wentThrough(vs[0].Digest, worker.Queued, worker.Sending, worker.Refused, worker.Sending, worker.Delivered)
			r.wentThrough(vs[2].Digest, worker.Blocked, worker.Sending, worker.Delivered)
			r.finish()
		})
	}
}

// TestPinMismatch: something at the server's address shows a TLS
// certificate whose key the definition does not pin; the station sends
// nothing to it (no HTTP request reaches the proxy), says why, and keeps
// its queue. Once the server shows the key of the backup pin, everything
// goes.
func TestPinMismatch(t *testing.T) {
	impostor, err := faults.NewCertificate("impostor")
	require.NoError(t, err)
	primary, err := faults.NewCertificate("commission, primary")
	require.NoError(t, err)
	backup, err := faults.NewCertificate("commission, backup")
	require.NoError(t, err)
	r := newRig(t, rigOptions{tls: true, shown: impostor, pins: []string{primary.Pin, backup.Pin},
		trust: []*faults.Certificate{impostor, primary, backup}})
	vs := r.sealQueue()
	r.run()

	s := r.waitFor("a retry after a wrong key", retrying(vs[0].Digest, 3, "not one the election definition pins"))
	it, _ := harness.Item(s, vs[0].Digest)
	assert.Contains(t, it.Reason, impostor.Pin, "the reason names the key shown")
	assert.Contains(t, it.Reason, "nothing was sent")
	assert.False(t, s.Online)
	_, refused, _ := r.proxy.Handshakes()
	assert.GreaterOrEqual(t, refused, 3, "the station refused the impostor's certificate")
	assert.Empty(t, r.proxy.Events(), "no HTTP request was sent to the impostor")
	r.requireHeld()

	r.proxy.SetCertificate(backup)
	r.waitDelivered()
	ok, _, _ := r.proxy.Handshakes()
	assert.Positive(t, ok)
	r.wentThrough(vs[0].Digest, worker.Queued, worker.Sending, worker.Waiting, worker.Sending, worker.Delivered)
	r.finish()
}

// TestKillAndRestart: tallyd is killed with SIGKILL in the middle of a
// submission, and again in the middle of a photo's upload, and restarted
// on the same address each time; the station keeps trying meanwhile, and
// in the end every version is stored once, with the receipt the station
// holds, and every photo is whole at the commission.
func TestKillAndRestart(t *testing.T) {
	r := newRig(t, rigOptions{})
	forms := r.st.Forms()
	for round := 1; round <= 3; round++ {
		for _, f := range forms {
			v, err := r.st.Seal(r.ctx, f, round)
			require.NoError(t, err)
			r.sealed = append(r.sealed, v)
		}
	}
	killed := make(chan string, 2)
	kill := func(when string) func() {
		return func() {
			assert.NoError(t, r.tallyd.Kill())
			killed <- when
		}
	}
	r.proxy.Script(
		faults.Fault{Kind: faults.None, Target: faults.Submissions},
		faults.Fault{Kind: faults.None, Target: faults.Submissions, During: kill("submission")},
		faults.Fault{Kind: faults.None, Target: "/v1/attachments/", Method: http.MethodPatch, During: kill("photo")},
	)
	r.run()

	for range 2 {
		var when string
		select {
		case when = <-killed:
		case <-time.After(waitLong):
			require.FailNow(t, "tallyd was not killed")
		}
		// The station goes on trying while nothing answers behind the
		// proxy.
		mark := len(r.proxy.Events())
		require.True(t, r.proxy.Wait(waitLong, func(evs []faults.Event) bool {
			failed := 0
			for _, ev := range evs[mark:] {
				if ev.Upstream == 0 && ev.Status == 0 {
					failed++
				}
			}
			return failed >= 3
		}), "the station stopped trying after the kill in a %s", when)
		require.NoError(t, r.tallyd.Start())
	}
	r.waitDelivered()
	sends := r.sends(r.sealed[1].Digest)
	require.GreaterOrEqual(t, len(sends), 2)
	assert.Zero(t, sends[0].Status, "the killed request got no answer")
	assert.Contains(t, []int{http.StatusCreated, http.StatusOK}, sends[len(sends)-1].Upstream)
	assert.Equal(t, 3, r.tallyd.Starts())
	r.wentThrough(r.sealed[1].Digest, worker.Sending, worker.Waiting, worker.Sending, worker.Delivered)
	r.finish()
}

// TestOnlineWhilePhotosCannotGo: the worker's state says Online when the
// last request got an answer; while a photo's upload finds no server, it
// must say so, as it does for a submission.
func TestOnlineWhilePhotosCannotGo(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.sealQueue()
	r.proxy.Script(faults.Fault{Kind: faults.None, Target: "/v1/attachments/", Method: http.MethodPatch, During: r.proxy.Down})
	r.run()

	s := r.waitFor("a photo's upload failing", func(s worker.State) bool {
		return s.Photos > 0 && strings.Contains(s.LastError, "connection refused")
	})
	assert.False(t, s.Online, "no server answered the last request, yet the state says online (last error: %s)", s.LastError)
	require.NoError(t, r.proxy.Up())
	r.waitDelivered()
	r.finish()
}

// TestRetryAfterHoldsEveryRequest: a 429 (or a 503) with Retry-After
// asks the client to make no new request for that long (RFC 6585 §4, RFC
// 9110 §10.2.3); after one, the station must send nothing to the same
// server before then — not the next form, not a photo, not the same photo
// again.
func TestRetryAfterHoldsEveryRequest(t *testing.T) {
	for name, f := range map[string]faults.Fault{
		"Submission": {Kind: faults.Status, Status: http.StatusTooManyRequests, RetryAfter: "1", Target: faults.Submissions},
		"Photo": {Kind: faults.Status, Status: http.StatusServiceUnavailable, RetryAfter: "1", Target: "/v1/attachments/",
			Method: http.MethodPatch},
	} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, rigOptions{})
			r.sealQueue()
			r.proxy.Script(f)
			r.run()
			r.waitDelivered()

			evs := r.proxy.Events()
			at := slices.IndexFunc(evs, func(ev faults.Event) bool { return ev.Fault == faults.Status })
			require.GreaterOrEqual(t, at, 0)
			for _, ev := range evs[at+1:] {
				assert.GreaterOrEqual(t, ev.At.Sub(evs[at].At), time.Second, "%s %s was sent %s after the %d that asked for 1 s",
					ev.Method, ev.Path, ev.At.Sub(evs[at].At).Round(time.Millisecond), evs[at].Status)
			}
			r.finish()
		})
	}
}

// TestPhotoFaults: the same breaks hit a photo's upload (a resumable
// PATCH after the submission that names it); the upload resumes where
// the commission got to, and every photo ends whole at the commission.
func TestPhotoFaults(t *testing.T) {
	cases := map[string]faults.Fault{
		"ResetInTheRequest":  {Kind: faults.ResetRequest, After: 10},
		"ResetInTheResponse": {Kind: faults.ResetResponse},
		"StallAfterStored":   {Kind: faults.Stall},
		"503":                {Kind: faults.Status, Status: http.StatusServiceUnavailable},
		"CaptivePortal":      {Kind: faults.CaptivePortal},
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, rigOptions{timeout: 300 * time.Millisecond})
			r.sealQueue()
			f.Target, f.Method = "/v1/attachments/", http.MethodPatch
			r.proxy.Script(faults.Times(2, f)...)
			r.run()
			r.waitFor("a photo's upload failing", func(s worker.State) bool {
				return s.Photos > 0 && strings.Contains(s.LastError, "photo")
			})
			r.waitDelivered()
			hit := 0
			for _, ev := range r.proxy.Events() {
				if ev.Fault == f.Kind && ev.Method == http.MethodPatch {
					hit++
				}
			}
			assert.Equal(t, 2, hit)
			r.finish()
		})
	}
}

// TestCaptivePortalIsNotARefusal: a captive portal answers the HEAD that
// asks how much of a photo the commission holds with 200 and its page;
// that is not the commission's word, so the upload's error must not be a
// refusal (which tells the caller not to try again).
func TestCaptivePortalIsNotARefusal(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.sealQueue()
	r.run()
	r.waitDelivered()
	rec, err := r.st.Record(r.ctx)
	require.NoError(t, err)
	require.NotEmpty(t, rec.Photos)
	require.NoError(t, r.client.Login(r.ctx, r.st.Key))

	r.proxy.SetFault(faults.Fault{Kind: faults.CaptivePortal, Target: "/v1/attachments/"})
	for sha := range rec.Photos {
		data, err := r.st.Svc.PhotoData(r.ctx, sha)
		require.NoError(t, err)
		err = r.client.Upload(r.ctx, sha, data)
		require.Error(t, err)
		assert.False(t, client.IsRefused(err), "a captive portal's page taken for the commission's refusal: %v", err)
	}
	r.proxy.SetFault(faults.Fault{Kind: faults.None})
	r.finish()
}

// TestConflictAtTheCommission: tallyd itself refuses a version with 409,
// because another envelope of the same version reached it first; the
// commission records the conflict for the supervisor, the station keeps
// the version with the commission's reason, sends it only once, and
// nothing goes past it.
func TestConflictAtTheCommission(t *testing.T) {
	r := newRig(t, rigOptions{})
	vs := r.sealQueue()
	// Another envelope of the first version, sealed a second later with
	// the station's key, reaches the commission first.
	env, err := seal.Parse(vs[0].Envelope, election.MaxSubmissionSize*2)
	require.NoError(t, err)
	var sub election.Submission
	require.NoError(t, json.Unmarshal(env.Payload, &sub))
	sub.SealedAt = sub.SealedAt.Add(time.Second)
	payload, err := json.Marshal(sub)
	require.NoError(t, err)
	rival, err := seal.Sign(election.SubmissionPayloadType, payload, r.st.Key)
	require.NoError(t, err)
	direct, err := client.New(client.Config{Servers: []election.Server{{URL: r.tallyd.URL()}},
		ElectionID: r.st.Def.Election.ID, ReceiptKey: r.st.Def.Election.Keys.Receipt})
	require.NoError(t, err)
	defer direct.Close()
	require.Equal(t, client.Delivered, direct.Submit(r.ctx, seal.Digest(rival), rival).Kind)

	r.run()
	r.waitDrained()
	s := r.w.State()
	it, _ := harness.Item(s, vs[0].Digest)
	assert.Equal(t, worker.Refused, it.Phase)
	assert.Contains(t, it.Reason, "already", "the commission's reason: %s", it.Reason)
	it, _ = harness.Item(s, vs[2].Digest)
	assert.Equal(t, worker.Blocked, it.Phase)
	sends := r.sends(vs[0].Digest)
	require.Len(t, sends, 1)
	assert.Equal(t, http.StatusConflict, sends[0].Upstream)
	require.NoError(t, r.w.Drain(r.ctx))
	assert.Len(t, r.sends(vs[0].Digest), 1, "a refusal is sent once")
	assert.Empty(t, r.sends(vs[2].Digest))

	require.NoError(t, r.tallyd.Stop())
	c, err := harness.ReadCommission(r.ctx, r.tallyd.DB)
	require.NoError(t, err)
	assert.Equal(t, 1, c.Conflicts, "recorded for the supervisor")
	rec, err := r.st.Record(r.ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{fmt.Sprintf("%s: the commission stores %s/%s v1 (%.12s), which this station never sealed",
		r.st.Code, vs[0].Key.Contest, vs[0].Key.Form, seal.Digest(rival))}, rec.Against(c, r.st, false),
		"only the rival differs; the refused version and the one behind it are kept, unreceipted")
	assert.Contains(t, r.pending(), vs[0].Digest)
	assert.Contains(t, r.pending(), vs[2].Digest)
}

// TestWakeWhenTheNetworkIsBack: worker.Wake is the app's way to say "the
// network is back" (its doc says so); the queue must then go at once, not
// after the wait the worker set while no server answered. The offline
// wait here is an hour, so only the wake can have sent the queue.
func TestWakeWhenTheNetworkIsBack(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.w = worker.New(r.st.Svc, r.client, worker.Options{OnState: r.rec.OnState,
		Backoff: worker.Backoff{Base: 10 * time.Millisecond, Max: 100 * time.Millisecond, Offline: time.Hour}})
	r.w.SetKey(r.st.Key)
	r.proxy.Down()
	vs := r.sealQueue()
	r.run()
	// Two attempts: the first, and one at once for the wake SetKey left;
	// then the worker waits on its timer.
	r.waitFor("a retry while nothing answers", retrying(vs[0].Digest, 2, "connection refused"))

	require.NoError(t, r.proxy.Up())
	woken := time.Now()
	from := r.rec.Len()
	r.w.Wake()
	// The offline wait is an hour: only the wake can send the queue now.
	i, _ := r.rec.Wait(from, waitLong, func(s worker.State) bool { return s.Queued == 0 })
	assert.GreaterOrEqual(t, i, 0, "the queue was not delivered after the wake (the worker waits out its offline wait: %s)",
		r.last().NextTry.Sub(woken).Round(time.Millisecond))
	r.stopWorker()
}
