package client_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/enrollment"
	"tally/app/seal"
	"tally/server"
	"tally/sync/client"
)

// TestElectionNight walks a station and its supervisor through the night
// against a real tallyd: definition, enrollment, submissions with their
// receipts, a repeat, a conflict, a tampered envelope, the photo, the
// supervisor's reads and decision, and a revocation.
func TestElectionNight(t *testing.T) {
	f := newFixture(t, false)
	c := f.client()
	stA, stB := f.station(0, 0), f.station(0, 1)
	muni := stA.Municipality

	def, err := c.Definition(f.ctx)
	require.NoError(t, err)
	require.Equal(t, twoMunicipalities(t), def)

	// Enrollment: 201, and the same again gives the same answer.
	keyA := seededKey(t, 10)
	reqA := f.enrollRequest(enrollment.RoleStation, stA.Code, keyA)
	k1, err := c.Enroll(f.ctx, reqA)
	require.NoError(t, err)
	require.Equal(t, server.EnrolledKey{KeyID: keyA.ID(), Role: "station", Unit: stA.Code, EnrolledAt: k1.EnrolledAt}, *k1)
	k2, err := c.Enroll(f.ctx, reqA)
	require.NoError(t, err)
	require.Equal(t, k1, k2)
	require.Equal(t, []string{"POST /v1/enroll 201", "POST /v1/enroll 200"}, f.front.lines("POST /v1/enroll"))
	keyB := f.enroll(c, enrollment.RoleStation, stB.Code, 11)
	supervisor := f.enroll(c, enrollment.RoleSupervisor, muni, 20)

	t.Run("EnrollWithAUsedCode", func(t *testing.T) {
		_, err := c.Enroll(f.ctx, f.enrollRequest(enrollment.RoleStation, stA.Code, seededKey(t, 12)))
		var refused *client.RefusedError
		require.ErrorAs(t, err, &refused)
		require.Equal(t, http.StatusForbidden, refused.Status)
		require.Equal(t, "forbidden", refused.Kind)
		require.NotEmpty(t, refused.Reason)
		require.Contains(t, err.Error(), f.ts.URL)
		require.Contains(t, err.Error(), refused.Reason)
	})

	t.Run("KeyList", func(t *testing.T) {
		list, err := c.KeyList(f.ctx)
		require.NoError(t, err)
		require.Len(t, list.Keys, 3)
		ring, err := list.Ring(enrollment.RoleStation, stA.Code)
		require.NoError(t, err)
		_, ok := ring.Lookup(keyA.ID())
		require.True(t, ok)
	})

	// Version 1, naming its photo.
	pic := photo(parts(2)+1000, 1)
	formV1 := f.form(stA, 1)
	formV1.PhotoSHA256 = sha(pic)
	v1 := f.seal(formV1, keyA, 1, "")

	// Before the submission that names it, the photo is refused.
	require.NoError(t, c.Login(f.ctx, keyA))
	err = c.Upload(f.ctx, sha(pic), pic)
	var refused *client.RefusedError
	require.ErrorAs(t, err, &refused)
	require.Equal(t, http.StatusForbidden, refused.Status)
	require.True(t, client.IsRefused(err))

	out := c.Submit(f.ctx, digest(v1), v1)
	require.Equal(t, client.Delivered, out.Kind, "%s", out.Reason)
	require.NoError(t, out.Err)
	require.Equal(t, http.StatusCreated, out.Status)
	receipt1 := out.Receipt
	r1 := openReceipt(t, receipt1)
	require.Equal(t, r1, out.Parsed)
	require.Equal(t, digest(v1), r1.Submission)
	require.Equal(t, stA.Code, r1.Station)
	require.Equal(t, f.def.Election.ID, r1.Election)
	require.Equal(t, 1, r1.Version)

	// The same again: delivered, with the very same receipt.
	out = c.Submit(f.ctx, digest(v1), v1)
	require.Equal(t, client.Delivered, out.Kind, "%s", out.Reason)
	require.Equal(t, http.StatusOK, out.Status)
	require.Equal(t, receipt1, out.Receipt)

	v2 := f.seal(f.form(stA, 2), keyA, 2, digest(v1))
	out = c.Submit(f.ctx, digest(v2), v2)
	require.Equal(t, client.Delivered, out.Kind, "%s", out.Reason)
	receipt2 := out.Receipt

	t.Run("Conflict", func(t *testing.T) {
		other := f.seal(f.form(stA, 3), keyA, 2, digest(v1))
		out := c.Submit(f.ctx, digest(other), other)
		require.Equal(t, client.Refused, out.Kind)
		require.Equal(t, http.StatusConflict, out.Status)
		// The server's own words: the same envelope sent past the client
		// gets the same detail.
		status, p := f.put("/v1/submissions/"+digest(other), other)
		require.Equal(t, http.StatusConflict, status)
		require.Equal(t, p.Detail, out.Reason)
		require.Contains(t, out.Reason, "already stored")
		require.ErrorAs(t, out.Err, &refused)
		require.Equal(t, "conflict", refused.Kind)
		require.Contains(t, out.Err.Error(), "409")
	})

	t.Run("Tampered", func(t *testing.T) {
		var env seal.Envelope
		require.NoError(t, json.Unmarshal(f.seal(f.form(stB, 1), keyB, 1, ""), &env))
		env.Payload = append([]byte(" "), env.Payload...) // still JSON, no longer what was signed
		tampered, err := json.Marshal(env)
		require.NoError(t, err)
		out := c.Submit(f.ctx, digest(tampered), tampered)
		require.Equal(t, client.Refused, out.Kind)
		require.Equal(t, http.StatusUnprocessableEntity, out.Status)
		require.NotEmpty(t, out.Reason)
	})

	t.Run("NotEnrolled", func(t *testing.T) {
		env := f.seal(f.form(f.station(0, 2), 1), seededKey(t, strangerSeed), 1, "")
		out := c.Submit(f.ctx, digest(env), env)
		require.Equal(t, client.Refused, out.Kind)
		require.Equal(t, http.StatusUnauthorized, out.Status)
	})

	t.Run("WrongDigestIsNotSent", func(t *testing.T) {
		before := f.front.count("PUT")
		out := c.Submit(f.ctx, digest(v1), v2)
		require.Equal(t, client.Refused, out.Kind)
		require.Zero(t, out.Status)
		require.Contains(t, out.Err.Error(), "was not sent")
		require.Equal(t, before, f.front.count("PUT"))
	})

	t.Run("Photo", func(t *testing.T) {
		mark := f.front.mark()
		require.NoError(t, c.Upload(f.ctx, sha(pic), pic))
		require.Equal(t, []string{
			"HEAD /v1/attachments/" + sha(pic) + " 404",
			"PATCH /v1/attachments/" + sha(pic) + " @0 204",
			"PATCH /v1/attachments/" + sha(pic) + " @524288 204",
			"PATCH /v1/attachments/" + sha(pic) + " @1048576 204",
		}, f.front.since(mark))
		got, err := c.Attachment(f.ctx, sha(pic))
		require.NoError(t, err)
		require.Equal(t, pic, got)

		// Again: the server has it all, nothing is sent.
		mark = f.front.mark()
		require.NoError(t, c.Upload(f.ctx, sha(pic), pic))
		require.Equal(t, []string{"HEAD /v1/attachments/" + sha(pic) + " 200"}, f.front.since(mark))

		// Bytes that are not the photo's are not sent at all.
		err = c.Upload(f.ctx, sha(pic), pic[1:])
		require.True(t, client.IsRefused(err))
		require.Contains(t, err.Error(), "not sent")
	})

	t.Run("StationReadsItself", func(t *testing.T) {
		v, err := c.Station(f.ctx, stA.Code)
		require.NoError(t, err)
		require.Equal(t, stA.Code, v.Station.Code)
		require.Len(t, v.Submissions, 2)
		assert.Equal(t, receipt1, v.Submissions[0].Receipt)
		assert.Equal(t, receipt2, v.Submissions[1].Receipt)
		require.Len(t, v.Conflicts, 1)
		env, err := c.Submission(f.ctx, digest(v2))
		require.NoError(t, err)
		require.Equal(t, v2, env)

		// Not another station, and not the municipality.
		_, err = c.Station(f.ctx, stB.Code)
		require.ErrorAs(t, err, &refused)
		require.Equal(t, http.StatusForbidden, refused.Status)
		require.Contains(t, err.Error(), "the record of station "+stB.Code)
		_, err = c.Municipality(f.ctx, muni)
		require.ErrorAs(t, err, &refused)
		require.Equal(t, http.StatusForbidden, refused.Status)
	})

	t.Run("Supervisor", func(t *testing.T) {
		s := f.client()
		_, err := s.Municipality(f.ctx, muni)
		require.ErrorIs(t, err, client.ErrNotLoggedIn)
		require.False(t, client.IsRefused(err))
		require.NoError(t, s.Login(f.ctx, supervisor))
		id, ok := s.Identity()
		require.True(t, ok)
		require.Equal(t, client.Identity{KeyID: supervisor.ID(), Role: enrollment.RoleSupervisor, Unit: muni,
			ExpiresAt: tokenEpoch.Add(15 * time.Minute)}, id)

		m, err := s.Municipality(f.ctx, muni)
		require.NoError(t, err)
		require.Equal(t, muni, m.Municipality)
		require.Equal(t, 1, m.Counts[server.Conflict])
		conflicts, err := s.Conflicts(f.ctx, muni)
		require.NoError(t, err)
		require.Len(t, conflicts.Conflicts, 1)

		v, err := s.Station(f.ctx, stA.Code)
		require.NoError(t, err)
		require.Len(t, v.Submissions, 2)
		env, err := s.Submission(f.ctx, digest(v1))
		require.NoError(t, err)
		require.Equal(t, v1, env)
		got, err := s.Attachment(f.ctx, sha(pic))
		require.NoError(t, err)
		require.Equal(t, pic, got)

		d := decision(t, f, stA, digest(v2), supervisor)
		dv, err := s.Decide(f.ctx, digest(d), d)
		require.NoError(t, err)
		require.Equal(t, election.Approve, dv.Verdict)
		again, err := s.Decide(f.ctx, digest(d), d)
		require.NoError(t, err)
		require.Equal(t, dv, again)
		m, err = s.Municipality(f.ctx, muni)
		require.NoError(t, err)
		require.Equal(t, 1, m.Counts[server.Approved])

		// The other municipality is not the supervisor's.
		_, err = s.Municipality(f.ctx, f.def.Municipalities[1].Code)
		require.ErrorAs(t, err, &refused)
		require.Equal(t, http.StatusForbidden, refused.Status)
	})

	t.Run("Revoked", func(t *testing.T) {
		b := f.client()
		require.NoError(t, b.Login(f.ctx, keyB))
		_, err := b.Station(f.ctx, stB.Code)
		require.NoError(t, err)
		_, err = f.svc.Revoke(f.ctx, keyB.ID(), "laptop stolen", "operator")
		require.NoError(t, err)
		_, err = b.Station(f.ctx, stB.Code)
		require.ErrorAs(t, err, &refused)
		require.Equal(t, http.StatusForbidden, refused.Status)

		env := f.seal(f.form(stB, 2), keyB, 1, "")
		out := c.Submit(f.ctx, digest(env), env)
		require.Equal(t, client.Refused, out.Kind)
		require.Equal(t, http.StatusForbidden, out.Status)

		err = b.Login(f.ctx, keyB)
		require.True(t, client.IsRefused(err), "%v", err)
	})
}

// parts is the size of n whole parts of an upload.
func parts(n int) int { return n * client.PartSize }

func openReceipt(t *testing.T, raw []byte) *election.Receipt {
	t.Helper()
	ring, err := seal.NewKeyring(seededKey(t, receiptSeed).Public())
	require.NoError(t, err)
	opened, err := seal.Open(raw, 1<<16, election.ReceiptPayloadType, ring)
	require.NoError(t, err)
	r, err := election.ParseReceipt(opened.Payload)
	require.NoError(t, err)
	return r
}

func decision(t *testing.T, f *fixture, st *election.Station, sub string, key *seal.PrivateKey) []byte {
	t.Helper()
	payload, err := json.Marshal(election.Decision{Format: election.DecisionFormat, Election: f.def.Election.ID,
		Station: st.Code, Contest: st.Forms[0].Contest, Form: st.Forms[0].Form, Submission: sub,
		Verdict: election.Approve, DecidedAt: time.Date(2026, 12, 20, 21, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	raw, err := seal.Sign(election.DecisionPayloadType, payload, key)
	require.NoError(t, err)
	return raw
}

// TestNewRefusesUnsafeServers: plain http only to this computer, https
// only with pins, and a configuration that says what is wrong.
func TestNewRefusesUnsafeServers(t *testing.T) {
	pin := otherPin
	good := client.Config{ElectionID: "e", ReceiptKey: receiptKey(t)}
	for _, s := range []election.Server{
		{URL: "http://127.0.0.1:8080"}, {URL: "http://127.0.0.2"}, {URL: "http://[::1]:8080/"},
		{URL: "http://localhost:8080/tally"}, {URL: "https://tally.example.org", Pins: []string{pin}},
	} {
		cfg := good
		cfg.Servers = []election.Server{s}
		c, err := client.New(cfg)
		require.NoError(t, err, s.URL)
		c.Close()
	}
	for _, tc := range []struct {
		name string
		s    election.Server
		want string
	}{
		{"http elsewhere", election.Server{URL: "http://tally.example.org"}, "plain http"},
		{"http to a LAN address", election.Server{URL: "http://10.0.0.5:8080"}, "plain http"},
		{"http to an address that looks local", election.Server{URL: "http://127.0.0.1.example.org"}, "plain http"},
		{"https without pins", election.Server{URL: "https://tally.example.org"}, "pins"},
		{"a pin of another form", election.Server{URL: "https://tally.example.org", Pins: []string{"sha1/AAAA"}}, "pin"},
		{"pins on http", election.Server{URL: "http://127.0.0.1", Pins: []string{pin}}, "pins"},
		{"another scheme", election.Server{URL: "ftp://127.0.0.1"}, "scheme"},
		{"a user", election.Server{URL: "https://a:b@tally.example.org", Pins: []string{pin}}, "user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			cfg.Servers = []election.Server{{URL: "http://127.0.0.1:1"}, tc.s}
			_, err := client.New(cfg)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			require.Contains(t, err.Error(), "server 2 ("+tc.s.URL+")")
		})
	}
	_, err := client.New(client.Config{ElectionID: "e", ReceiptKey: receiptKey(t)})
	require.ErrorContains(t, err, "no server")
	_, err = client.New(client.Config{Servers: []election.Server{{URL: "http://127.0.0.1"}}, ElectionID: "e", ReceiptKey: "x"})
	require.ErrorContains(t, err, "receipt key")
	_, err = client.New(client.Config{Servers: []election.Server{{URL: "http://127.0.0.1"}}, ReceiptKey: receiptKey(t)})
	require.ErrorContains(t, err, "election id")
}
