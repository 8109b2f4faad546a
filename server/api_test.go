package server_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/enrollment"
	"tally/server"
)

// photo is a few kilobytes that stand for the photo of a paper form.
func photo() []byte {
	var b bytes.Buffer
	b.Write([]byte{0xFF, 0xD8, 0xFF, 0xE0})
	for i := 0; b.Len() < 3000; i++ {
		fmt.Fprintf(&b, "paper form, line %d; ", i)
	}
	return b.Bytes()[:3000]
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestElectionNight walks a station and its supervisor through the night:
// enroll, submit, repeat, correct, conflict, decide, read back, upload the
// photo with a break, and lose a token to time and to revocation.
func TestElectionNight(t *testing.T) {
	f := newFixture(t, nil)
	stA, stB := f.station(0, 0), f.station(0, 1)
	muni := stA.Municipality

	t.Run("Election", func(t *testing.T) {
		res := f.do("GET", "/v1/election", nil, nil)
		require.Equal(t, http.StatusOK, res.status)
		require.Equal(t, twoMunicipalities(t), res.body)
		etag := res.header.Get("ETag")
		require.NotEmpty(t, etag)
		res = f.do("GET", "/v1/election", nil, headers{"If-None-Match": etag})
		require.Equal(t, http.StatusNotModified, res.status)
	})

	// Enrollment: 201, then 200 with the same answer for a repeat.
	keyA := seededKey(t, 10)
	reqA := f.enrollRequest(enrollment.RoleStation, stA.Code, f.codes["station/"+stA.Code], keyA)
	res := f.do("POST", "/v1/enroll", reqA, jsonType)
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	var enrolled server.EnrolledKey
	res.json(t, &enrolled)
	require.Equal(t, server.EnrolledKey{KeyID: keyA.ID(), Role: "station", Unit: stA.Code, EnrolledAt: enrolled.EnrolledAt}, enrolled)
	again := f.do("POST", "/v1/enroll", reqA, headers{"Content-Type": "application/vnd.dsse+json"})
	require.Equal(t, http.StatusOK, again.status, "%s", again.body)
	require.Equal(t, res.body, again.body)
	keyB := f.enroll(enrollment.RoleStation, stB.Code, 11)
	supervisor := f.enroll(enrollment.RoleSupervisor, muni, 20)

	t.Run("KeyList", func(t *testing.T) {
		res := f.do("GET", "/v1/keys", nil, nil)
		require.Equal(t, http.StatusOK, res.status)
		list, err := enrollment.OpenKeyList(res.body, f.receipt, f.def.Election.ID)
		require.NoError(t, err)
		require.Len(t, list.Keys, 3)
		ring, err := list.Ring(enrollment.RoleStation, stA.Code)
		require.NoError(t, err)
		_, ok := ring.Lookup(keyA.ID())
		require.True(t, ok)
	})

	// Version 1, with the photo's hash.
	pic := photo()
	formV1 := f.form(stA, 1)
	formV1.PhotoSHA256 = sha(pic)
	v1 := f.seal(formV1, keyA, 1, "")
	res = f.submit(v1)
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	require.Equal(t, "/v1/submissions/"+digest(v1), res.header.Get("Location"))
	receipt1 := res.body
	r1 := f.receiptOf(receipt1)
	require.Equal(t, digest(v1), r1.Submission)
	require.Equal(t, stA.Code, r1.Station)
	require.Equal(t, 1, r1.Version)
	require.Equal(t, f.def.Election.ID, r1.Election)
	require.NotZero(t, r1.Number)

	// The same envelope again: 200 and the same receipt, byte for byte.
	res = f.submit(v1)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.Equal(t, receipt1, res.body)

	// Version 2 supersedes version 1.
	v2 := f.seal(f.form(stA, 2), keyA, 2, digest(v1))
	res = f.submit(v2)
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	receipt2 := res.body
	r2 := f.receiptOf(receipt2)
	require.Equal(t, 2, r2.Version)
	require.Greater(t, r2.Number, r1.Number)

	// Another version 2: a conflict, refused and recorded.
	before := f.counts()
	v2other := f.seal(f.form(stA, 3), keyA, 2, digest(v1))
	res = f.submit(v2other)
	require.Equal(t, http.StatusConflict, res.status, "%s", res.body)
	require.Equal(t, "conflict", res.kind(t))
	after := f.counts()
	require.Equal(t, before.Conflicts+1, after.Conflicts)
	require.Equal(t, before.Submissions, after.Submissions)

	tokA := f.token(keyA)
	tokSup := f.token(supervisor)

	t.Run("StationSeesItself", func(t *testing.T) {
		res := f.do("GET", "/v1/stations/"+stA.Code, nil, bearer(tokA))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var v server.StationView
		res.json(t, &v)
		require.Equal(t, stA.Code, v.Station.Code)
		require.Len(t, v.Submissions, 2)
		assert.Equal(t, digest(v1), v.Submissions[0].Digest)
		assert.Equal(t, receipt1, v.Submissions[0].Receipt)
		assert.Equal(t, receipt2, v.Submissions[1].Receipt)
		assert.Equal(t, r2.Number, v.Submissions[1].Number)
		require.Len(t, v.Conflicts, 1)
		assert.Equal(t, digest(v2other), v.Conflicts[0].Digest)
		require.Len(t, v.Forms, 1)
		assert.Equal(t, server.Conflict, v.Forms[0].State)
		assert.Equal(t, digest(v2), v.Forms[0].Digest)

		res = f.do("GET", "/v1/submissions/"+digest(v2), nil, bearer(tokA))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		require.Equal(t, v2, res.body)
	})

	t.Run("SupervisorSeesTheConflict", func(t *testing.T) {
		res := f.do("GET", "/v1/municipalities/"+muni+"/stations", nil, bearer(tokSup))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var v server.MunicipalityView
		res.json(t, &v)
		total := 0
		for _, st := range f.def.Stations {
			if st.Municipality == muni {
				total += len(st.Forms)
			}
		}
		require.Equal(t, map[server.FormState]int{server.NotStarted: total - 1, server.Received: 0,
			server.Approved: 0, server.Returned: 0, server.Conflict: 1}, v.Counts)
		for _, st := range v.Stations {
			require.Equal(t, muni, st.Municipality)
			if st.Code == stA.Code {
				require.Equal(t, server.Conflict, st.Forms[0].State)
			}
		}

		res = f.do("GET", "/v1/municipalities/"+muni+"/conflicts", nil, bearer(tokSup))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var c server.ConflictsView
		res.json(t, &c)
		require.Len(t, c.Conflicts, 1)
		require.Equal(t, digest(v2other), c.Conflicts[0].Digest)
		require.Equal(t, 2, c.Conflicts[0].Version)
		require.NotEmpty(t, c.Conflicts[0].Reason)

		res = f.do("GET", "/v1/submissions/"+digest(v1), nil, bearer(tokSup))
		require.Equal(t, http.StatusOK, res.status)
		require.Equal(t, v1, res.body)
	})

	t.Run("Decision", func(t *testing.T) {
		d := f.decision(stA, digest(v2), election.Approve, "", supervisor)
		res := f.do("PUT", "/v1/decisions/"+digest(d), d, jsonType)
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		var dv server.DecisionView
		res.json(t, &dv)
		require.Equal(t, digest(d), dv.Digest)
		require.Equal(t, digest(v2), dv.Submission)
		require.Equal(t, election.Approve, dv.Verdict)
		require.Equal(t, supervisor.ID(), dv.KeyID)
		repeat := f.do("PUT", "/v1/decisions/"+digest(d), d, jsonType)
		require.Equal(t, http.StatusOK, repeat.status, "%s", repeat.body)
		require.Equal(t, res.body, repeat.body)

		res = f.do("GET", "/v1/stations/"+stA.Code, nil, bearer(tokSup))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var v server.StationView
		res.json(t, &v)
		require.Len(t, v.Decisions, 1)
		require.Equal(t, d, v.Decisions[0].Envelope)
		require.Equal(t, server.Approved, v.Forms[0].State)

		res = f.do("GET", "/v1/municipalities/"+muni+"/stations", nil, bearer(tokSup))
		var mv server.MunicipalityView
		res.json(t, &mv)
		require.Equal(t, 1, mv.Counts[server.Approved])
		require.Equal(t, 0, mv.Counts[server.Conflict])

		// The other station: received, then returned.
		vb := f.seal(f.form(stB, 1), keyB, 1, "")
		require.Equal(t, http.StatusCreated, f.submit(vb).status)
		ret := f.decision(stB, digest(vb), election.Return, "Numri i votave nuk përputhet me fotografinë.", supervisor)
		require.Equal(t, http.StatusCreated, f.do("PUT", "/v1/decisions/"+digest(ret), ret, jsonType).status)
		res = f.do("GET", "/v1/municipalities/"+muni+"/stations", nil, bearer(tokSup))
		res.json(t, &mv)
		require.Equal(t, 1, mv.Counts[server.Returned])
	})

	t.Run("UploadWithABreak", func(t *testing.T) {
		name := sha(pic)
		part := func(offset int) headers {
			return headers{"Authorization": "Bearer " + tokA, "Content-Type": "application/offset+octet-stream",
				"Upload-Length": strconv.Itoa(len(pic)), "Upload-Offset": strconv.Itoa(offset)}
		}
		res := f.do("HEAD", "/v1/attachments/"+name, nil, bearer(tokA))
		require.Equal(t, http.StatusNotFound, res.status) // nothing begun

		res = f.do("PATCH", "/v1/attachments/"+name, pic[:1000], part(0))
		require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)
		require.Equal(t, "1000", res.header.Get("Upload-Offset"))

		// The line breaks in the middle of the second part: nothing of it
		// is kept.
		addr := strings.TrimPrefix(f.ts.URL, "http://")
		head := fmt.Sprintf("PATCH /v1/attachments/%s HTTP/1.1\r\nHost: tally\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/offset+octet-stream\r\nUpload-Length: %d\r\nUpload-Offset: 1000\r\n"+
			"Content-Length: 1000\r\n\r\n", name, tokA, len(pic))
		answer, _ := rawExchange(t, addr, append([]byte(head), pic[1000:1400]...), true)
		broken := rawResponse(t, answer)
		require.Equal(t, http.StatusBadRequest, broken.status)
		broken.problem(t)

		// The station asks where to resume.
		res = f.do("HEAD", "/v1/attachments/"+name, nil, bearer(tokA))
		require.Equal(t, http.StatusOK, res.status)
		require.Equal(t, "1000", res.header.Get("Upload-Offset"))
		require.Equal(t, strconv.Itoa(len(pic)), res.header.Get("Upload-Length"))

		// A stale retry of the first part: 409 and where the server is.
		res = f.do("PATCH", "/v1/attachments/"+name, pic[:1000], part(0))
		require.Equal(t, http.StatusConflict, res.status, "%s", res.body)
		require.Equal(t, "1000", res.header.Get("Upload-Offset"))
		res.problem(t)

		res = f.do("PATCH", "/v1/attachments/"+name, pic[1000:2000], part(1000))
		require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)
		require.Equal(t, "2000", res.header.Get("Upload-Offset"))
		res = f.do("PATCH", "/v1/attachments/"+name, pic[2000:], part(2000))
		require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)
		require.Equal(t, strconv.Itoa(len(pic)), res.header.Get("Upload-Offset"))
		require.Equal(t, 1, f.counts().Attachments)

		res = f.do("HEAD", "/v1/attachments/"+name, nil, bearer(tokSup))
		require.Equal(t, strconv.Itoa(len(pic)), res.header.Get("Upload-Offset"))
		for _, tok := range []string{tokA, tokSup} {
			res = f.do("GET", "/v1/attachments/"+name, nil, bearer(tok))
			require.Equal(t, http.StatusOK, res.status)
			require.Equal(t, pic, res.body)
		}
	})

	t.Run("TokenExpires", func(t *testing.T) {
		tok := f.token(keyA)
		require.Equal(t, http.StatusOK, f.do("GET", "/v1/stations/"+stA.Code, nil, bearer(tok)).status)
		f.clock.Advance(15*time.Minute + time.Second)
		res := f.do("GET", "/v1/stations/"+stA.Code, nil, bearer(tok))
		require.Equal(t, http.StatusUnauthorized, res.status)
		require.Equal(t, "unauthorized", res.kind(t))
		require.Equal(t, `Bearer realm="tally"`, res.header.Get("WWW-Authenticate"))
		require.Equal(t, http.StatusOK, f.do("GET", "/v1/stations/"+stA.Code, nil, bearer(f.token(keyA))).status)
	})

	t.Run("RevocationTakesEffectAtOnce", func(t *testing.T) {
		tok := f.token(keyB)
		require.Equal(t, http.StatusOK, f.do("GET", "/v1/stations/"+stB.Code, nil, bearer(tok)).status)
		_, err := f.svc.Revoke(f.ctx, keyB.ID(), "laptop stolen", "operator")
		require.NoError(t, err)
		res := f.do("GET", "/v1/stations/"+stB.Code, nil, bearer(tok))
		require.Equal(t, http.StatusForbidden, res.status)
		require.Equal(t, "forbidden", res.kind(t))
		f.refusalLogged("GET /v1/stations/{code}", http.StatusForbidden)
	})

	t.Run("Metrics", func(t *testing.T) {
		res := f.do("GET", "/metrics", nil, nil)
		require.Equal(t, http.StatusOK, res.status)
		text := string(res.body)
		for _, want := range []string{
			`tally_http_requests_total{route="PUT /v1/submissions/{digest}",status="201"} 3`,
			`tally_http_requests_total{route="PUT /v1/submissions/{digest}",status="409"} 1`,
			`tally_submissions_total{result="new"} 3`,
			`tally_submissions_total{result="repeat"} 1`,
			`tally_submissions_total{result="conflict"} 1`,
			`tally_http_request_duration_seconds_count{route="PUT /v1/submissions/{digest}"} 5`,
			`tally_stored{what="submissions"} 3`,
			"# TYPE tally_http_request_duration_seconds histogram",
			"go_goroutines ",
			"process_start_time_seconds ",
		} {
			require.Contains(t, text, want)
		}
	})

	t.Run("Health", func(t *testing.T) {
		require.Equal(t, http.StatusOK, f.do("GET", "/healthz", nil, nil).status)
		require.Equal(t, http.StatusOK, f.do("GET", "/readyz", nil, nil).status)
	})
}

// TestNotReadyWithoutAnElection: before an election is imported, tallyd
// is alive but not ready, and says so as a problem with Retry-After.
func TestNotReadyWithoutAnElection(t *testing.T) {
	f := newEmptyFixture(t)
	require.Equal(t, http.StatusOK, f.do("GET", "/healthz", nil, nil).status)
	res := f.do("GET", "/readyz", nil, nil)
	require.Equal(t, http.StatusServiceUnavailable, res.status)
	require.Equal(t, "unavailable", res.kind(t))
	require.NotEmpty(t, res.header.Get("Retry-After"))
	res = f.do("GET", "/v1/election", nil, nil)
	require.Equal(t, http.StatusServiceUnavailable, res.status)
	res.problem(t)
}

func TestNewNeedsAService(t *testing.T) {
	_, err := server.New(server.Config{})
	require.Error(t, err)
}
