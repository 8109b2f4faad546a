package server_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tally/app/commission"
	"tally/app/election"
	"tally/app/enrollment"
	"tally/server"
)

const (
	routeSubmit     = "PUT /v1/submissions/{digest}"
	routeDecide     = "PUT /v1/decisions/{digest}"
	routeEnroll     = "POST /v1/enroll"
	routeStation    = "GET /v1/stations/{code}"
	routeStations   = "GET /v1/municipalities/{code}/stations"
	routeSubmission = "GET /v1/submissions/{digest}"
	routeAttachment = "PATCH /v1/attachments/{sha256}"
	routeUnmatched  = "unmatched"
)

// reenvelope rewrites an envelope's JSON: for forging and tampering.
func reenvelope(tb testing.TB, env []byte, change func(m map[string]any)) []byte {
	tb.Helper()
	var m map[string]any
	require.NoError(tb, json.Unmarshal(env, &m))
	change(m)
	out, err := json.Marshal(m)
	require.NoError(tb, err)
	return out
}

// TestBadInput sends what a broken or hostile client might, and checks
// that each is refused with the right status as problem JSON, changes
// nothing in the store, and is logged once.
func TestBadInput(t *testing.T) {
	f := newFixture(t, func(c *server.Config) {
		c.ReadHeaderTimeout = 300 * time.Millisecond
		c.MaxHeaderBytes = 4 << 10
	})
	served, _ := f.serve() // the same server behind Serve, for what needs its timeouts and limits
	addr := strings.TrimPrefix(f.ts.URL, "http://")

	stA, stB, stC, stD := f.station(0, 0), f.station(0, 1), f.station(0, 2), f.station(1, 0)
	keyA := f.enroll(enrollment.RoleStation, stA.Code, 10)
	keyB := f.enroll(enrollment.RoleStation, stB.Code, 11)
	keyC := f.enroll(enrollment.RoleStation, stC.Code, 12)
	f.enroll(enrollment.RoleStation, stD.Code, 13)
	sup0 := f.enroll(enrollment.RoleSupervisor, stA.Municipality, 20)
	sup1 := f.enroll(enrollment.RoleSupervisor, stD.Municipality, 21)
	stranger := seededKey(t, 99) // never enrolled

	pic := photo()
	formA := f.form(stA, 1)
	formA.PhotoSHA256 = sha(pic)
	v1 := f.seal(formA, keyA, 1, "")
	require.Equal(t, http.StatusCreated, f.submit(v1).status)
	v2 := f.seal(f.form(stA, 2), keyA, 2, digest(v1)) // valid, never sent
	tokA, tokB, tokSup0, tokSup1 := f.token(keyA), f.token(keyB), f.token(sup0), f.token(sup1)
	_, err := f.svc.Revoke(f.ctx, keyC.ID(), "laptop lost", "operator")
	require.NoError(t, err)

	put := func(path string, body []byte, h headers) func() *response {
		return func() *response { return f.do("PUT", path, body, h) }
	}
	submit := func(env []byte) func() *response { return put("/v1/submissions/"+digest(env), env, jsonType) }
	get := func(path, token string) func() *response {
		return func() *response { return f.do("GET", path, nil, bearer(token)) }
	}
	enroll := func(raw []byte) func() *response {
		return func() *response { return f.do("POST", "/v1/enroll", raw, jsonType) }
	}
	patch := func(sha string, part []byte, h headers) func() *response {
		all := headers{"Authorization": "Bearer " + tokA, "Content-Type": "application/offset+octet-stream",
			"Upload-Length": strconv.Itoa(len(part)), "Upload-Offset": "0"}
		for k, v := range h {
			all[k] = v
		}
		return func() *response { return f.do("PATCH", "/v1/attachments/"+sha, part, all) }
	}
	// raw sends bytes on a connection of its own and returns the answer;
	// remote is set to the connection's address as the server sees it.
	var remote string
	raw := func(to, send string, closeWrite bool) func() *response {
		return func() *response {
			var answer []byte
			answer, remote = rawExchange(t, to, []byte(send), closeWrite)
			if len(answer) == 0 {
				return nil // closed without an answer
			}
			return rawResponse(t, answer)
		}
	}
	newCode := func() string {
		c, err := enrollment.NewCode(rand.Reader)
		require.NoError(t, err)
		return c
	}
	other := func(change func(*election.Form)) *election.Form {
		form := f.form(stA, 7)
		change(form)
		return form
	}

	forged := reenvelope(t, f.seal(f.form(stA, 2), stranger, 2, digest(v1)), func(m map[string]any) {
		m["signatures"].([]any)[0].(map[string]any)["keyid"] = keyA.ID()
	})
	tampered := reenvelope(t, v2, func(m map[string]any) {
		payload, err := base64.StdEncoding.DecodeString(m["payload"].(string))
		require.NoError(t, err)
		var sub map[string]any
		require.NoError(t, json.Unmarshal(payload, &sub))
		sub["form"].(map[string]any)["members_present"] = 29
		payload, err = json.Marshal(sub)
		require.NoError(t, err)
		m["payload"] = base64.StdEncoding.EncodeToString(payload)
	})
	truncated := v2[:len(v2)/2]
	bigChunked := bytes.Repeat([]byte{'x'}, 64<<10+1)
	otherPic := bytes.Repeat([]byte{0x42}, len(pic))

	cases := []struct {
		name   string
		send   func() *response
		status int
		kind   string // of the problem; "" when net/http answers itself
		route  string // in the log; "" for a refusal before routing
	}{
		{"OversizedBodyAnnounced", raw(addr, fmt.Sprintf("PUT /v1/submissions/%s HTTP/1.1\r\nHost: tally\r\n"+
			"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", digest(v2), commission.MaxEnvelopeSize+1), false),
			413, "too-large", routeSubmit},
		{"OversizedBodyChunked", func() *response {
			req, err := http.NewRequest("PUT", f.ts.URL+"/v1/decisions/"+digest(bigChunked),
				io.MultiReader(bytes.NewReader(bigChunked))) // no length: sent chunked
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			res, err := f.ts.Client().Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			return &response{status: res.StatusCode, header: res.Header, body: body}
		}, 413, "too-large", routeDecide},
		{"TruncatedBody", raw(addr, fmt.Sprintf("PUT /v1/submissions/%s HTTP/1.1\r\nHost: tally\r\n"+
			"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", digest(v2), len(v2), v2[:len(v2)/2]), true),
			400, "invalid", routeSubmit},
		{"EmptyBody", put("/v1/submissions/"+digest(nil), nil, jsonType), 400, "invalid", routeSubmit},
		{"MalformedJSON", submit([]byte(`{"payloadType": "application/vnd.tally.submission+json", "payload": `)), 400, "invalid", routeSubmit},
		{"NotAnEnvelope", submit([]byte(`{"hello": "world"}`)), 400, "invalid", routeSubmit},
		{"WrongContentType", put("/v1/submissions/"+digest(v2), v2, headers{"Content-Type": "text/plain"}), 415, "unsupported-media-type", routeSubmit},
		{"NoContentType", put("/v1/submissions/"+digest(v2), v2, nil), 415, "unsupported-media-type", routeSubmit},
		{"WrongCharset", put("/v1/submissions/"+digest(v2), v2, headers{"Content-Type": "application/json; charset=latin1"}), 415, "unsupported-media-type", routeSubmit},
		{"ForgedSignature", submit(forged), 422, "invalid", routeSubmit},
		{"TamperedPayload", submit(tampered), 422, "invalid", routeSubmit},
		{"TruncatedEnvelope", submit(truncated), 400, "invalid", routeSubmit},
		{"UnknownKey", submit(f.seal(f.form(stA, 2), stranger, 2, digest(v1))), 401, "unauthorized", routeSubmit},
		{"AnotherStationsKey", submit(f.seal(f.form(stA, 2), keyB, 2, digest(v1))), 403, "forbidden", routeSubmit},
		{"RevokedKey", submit(f.seal(f.form(stC, 1), keyC, 1, "")), 403, "forbidden", routeSubmit},
		{"WrongElection", submit(f.seal(other(func(fm *election.Form) { fm.Election = "demo-assembly-1999" }), keyA, 1, "")), 422, "invalid", routeSubmit},
		{"UnknownStation", submit(f.seal(other(func(fm *election.Form) { fm.Station = "99999Z" }), keyA, 1, "")), 422, "invalid", routeSubmit},
		{"WrongDigestInPath", put("/v1/submissions/"+digest(v1), v2, jsonType), 400, "invalid", routeSubmit},
		{"SubmissionPathNotHex", put("/v1/submissions/"+strings.ToUpper(digest(v2)), v2, jsonType), 400, "invalid", routeSubmit},

		{"EnrollUnknownStation", enroll(f.enrollRequest(enrollment.RoleStation, "99999Z", newCode(), seededKey(t, 50))), 404, "not-found", routeEnroll},
		{"EnrollUsedCode", enroll(f.enrollRequest(enrollment.RoleStation, stA.Code, f.codes["station/"+stA.Code], seededKey(t, 51))), 403, "forbidden", routeEnroll},
		{"EnrollUnknownCode", enroll(f.enrollRequest(enrollment.RoleStation, stB.Code, newCode(), seededKey(t, 52))), 403, "forbidden", routeEnroll},
		{"EnrollWrongElection", enroll(func() []byte {
			r, err := enrollment.SignRequest(enrollment.Request{Election: "demo-assembly-1999", Role: enrollment.RoleStation,
				Unit: stB.Code, Code: newCode(), At: time.Now()}, seededKey(t, 53))
			require.NoError(t, err)
			return r
		}()), 422, "invalid", routeEnroll},
		{"EnrollNotSignedByItsKey", enroll(reenvelope(t, f.enrollRequest(enrollment.RoleStation, stB.Code, newCode(), seededKey(t, 54)),
			func(m map[string]any) { m["signatures"].([]any)[0].(map[string]any)["keyid"] = stranger.ID() })), 422, "invalid", routeEnroll},

		{"DecisionByAStation", func() *response {
			d := f.decision(stA, digest(v1), election.Approve, "", keyA)
			return f.do("PUT", "/v1/decisions/"+digest(d), d, jsonType)
		}, 403, "forbidden", routeDecide},
		{"DecisionOnAnotherMunicipality", func() *response {
			d := f.decision(stA, digest(v1), election.Approve, "", sup1)
			return f.do("PUT", "/v1/decisions/"+digest(d), d, jsonType)
		}, 403, "forbidden", routeDecide},
		{"DecisionOnNoSubmission", func() *response {
			d := f.decision(stA, digest(v2), election.Approve, "", sup0)
			return f.do("PUT", "/v1/decisions/"+digest(d), d, jsonType)
		}, 404, "not-found", routeDecide},

		{"NoToken", get("/v1/stations/"+stA.Code, ""), 401, "unauthorized", routeStation},
		{"ForgedToken", get("/v1/stations/"+stA.Code, "t1.eyJraWQiOiJ4In0.AAAA"), 401, "unauthorized", routeStation},
		{"StationReadsAnotherStation", get("/v1/stations/"+stB.Code, tokA), 403, "forbidden", routeStation},
		{"StationReadsAnotherStationsSubmission", get("/v1/submissions/"+digest(v1), tokB), 403, "forbidden", routeSubmission},
		{"StationReadsTheMunicipality", get("/v1/municipalities/"+stA.Municipality+"/stations", tokA), 403, "forbidden", routeStations},
		{"SupervisorReadsAnotherMunicipality", get("/v1/municipalities/"+stA.Municipality+"/stations", tokSup1), 403, "forbidden", routeStations},
		{"SupervisorReadsAnotherMunicipalitysStation", get("/v1/stations/"+stA.Code, tokSup1), 403, "forbidden", routeStation},
		{"UnknownStationView", get("/v1/stations/99999Z", tokSup0), 404, "not-found", routeStation},

		{"AttachmentNamedByNoSubmission", patch(sha(otherPic[:10]), otherPic[:10], nil), 403, "forbidden", routeAttachment},
		{"AttachmentNotMatchingItsName", patch(sha(pic), otherPic, nil), 422, "invalid", routeAttachment},
		{"AttachmentBadOffset", patch(sha(pic), pic, headers{"Upload-Offset": "-1"}), 400, "invalid", routeAttachment},
		{"AttachmentNoLength", patch(sha(pic), pic, headers{"Upload-Length": ""}), 400, "invalid", routeAttachment},
		{"AttachmentWrongType", patch(sha(pic), pic, headers{"Content-Type": "image/jpeg"}), 415, "unsupported-media-type", routeAttachment},
		{"AttachmentPartTooLarge", patch(sha(pic), bytes.Repeat([]byte{1}, 1<<20+1), nil), 413, "too-large", routeAttachment},

		{"PathDotDot", get("/v1/stations/../keys", tokA), 400, "invalid", routeUnmatched},
		{"PathEncodedDots", get("/v1/stations/%2e%2e/keys", tokA), 400, "invalid", routeUnmatched},
		{"PathEncodedSlash", get("/v1/stations/01%2F001A", tokA), 400, "invalid", routeUnmatched},
		{"PathDoubleSlash", get("//v1/stations/"+stA.Code, tokA), 400, "invalid", routeUnmatched},
		{"PathLowercaseCode", get("/v1/stations/"+strings.ToLower(stA.Code)+"x", tokA), 400, "invalid", routeStation},
		{"PathCodeTooLong", get("/v1/stations/"+strings.Repeat("A", 33), tokA), 400, "invalid", routeStation},
		{"NoRoute", get("/v1/ballots", tokA), 404, "not-found", routeUnmatched},
		{"WrongMethod", func() *response { return f.do("DELETE", "/v1/keys", nil, nil) }, 405, "method-not-allowed", routeUnmatched},

		{"LargeHeader", raw(served, "GET /v1/keys HTTP/1.1\r\nHost: tally\r\nX-Filler: "+strings.Repeat("a", 5<<10)+
			"\r\nConnection: close\r\n\r\n", false), 431, "too-large", "GET /v1/keys"},
		{"HugeHeader", raw(served, "GET /v1/keys HTTP/1.1\r\nHost: tally\r\nX-Filler: "+strings.Repeat("a", 64<<10)+
			"\r\n\r\n", false), 431, "", ""},
		{"SlowHeaders", raw(served, "GET /v1/keys HTTP/1.1\r\nHost: tally\r\nX-Slow: ", false), 0, "", ""},
	}
	// What the problem's detail names, where the status alone could come
	// from another cause.
	details := map[string]string{
		"ForgedSignature":                    "does not verify",
		"TamperedPayload":                    "does not verify",
		"UnknownKey":                         "not enrolled",
		"AnotherStationsKey":                 "signed a form of station",
		"RevokedKey":                         "revoked",
		"WrongElection":                      "demo-assembly-1999",
		"UnknownStation":                     "unknown station",
		"WrongDigestInPath":                  "SHA-256",
		"EnrollUsedCode":                     "was used",
		"EnrollUnknownCode":                  "not one issued",
		"EnrollWrongElection":                "demo-assembly-1999",
		"DecisionByAStation":                 "not a supervisor",
		"DecisionOnAnotherMunicipality":      "cannot decide",
		"ForgedToken":                        "not valid",
		"SupervisorReadsAnotherMunicipality": "may not read",
		"AttachmentNamedByNoSubmission":      "names the photo",
		"AttachmentNotMatchingItsName":       "SHA-256",
		"PathDotDot":                         ". or ..",
		"PathEncodedSlash":                   "encoded slash",
		"PathDoubleSlash":                    "empty segment",
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.t = t
			before := f.counts()
			logged := f.countLogged(c.route, c.status)
			remote = ""
			res := c.send()

			if c.status == 0 {
				require.Nil(t, res, "the server should have closed the connection without answering")
			} else {
				require.NotNil(t, res)
				require.Equal(t, c.status, res.status, "body: %s", res.body)
				if c.kind != "" {
					require.Equal(t, c.kind, res.kind(t))
					require.Contains(t, res.problem(t).Detail, details[c.name])
				}
			}
			require.Equal(t, before, f.counts(), "the store changed")

			if c.route == "" { // refused by net/http: logged when the connection closes
				f.logs.waitFor(t, "of the connection from "+remote, func(m map[string]any) bool {
					return m["remote"] == remote && m["level"] == "WARN"
				})
				return
			}
			f.logs.waitFor(t, c.route+" "+strconv.Itoa(c.status), func(map[string]any) bool {
				return f.countLogged(c.route, c.status) > logged
			})
			require.Equal(t, logged+1, f.countLogged(c.route, c.status), "not logged exactly once")
		})
	}
	f.t = t

	t.Run("ProblemHeaders", func(t *testing.T) {
		res := f.do("DELETE", "/v1/keys", nil, nil)
		require.Equal(t, "GET, HEAD", res.header.Get("Allow"))
		res = f.do("GET", "/v1/ballots", nil, nil)
		require.Equal(t, "nosniff", res.header.Get("X-Content-Type-Options"))
		// A whole that does not match its name is forgotten: start again.
		res = patch(sha(pic), otherPic, nil)()
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		require.Equal(t, "0", res.header.Get("Upload-Offset"))
		require.Equal(t, http.StatusNotFound, f.do("HEAD", "/v1/attachments/"+sha(pic), nil, bearer(tokA)).status)
	})
}

// countLogged counts the refusals of a route with a status in the log.
func (f *fixture) countLogged(route string, status int) int {
	lines, _ := f.logs.lines()
	n := 0
	for _, m := range lines {
		st, _ := m["status"].(float64)
		if m["route"] == route && int(st) == status && m["kind"] != nil && m["detail"] != nil && m["remote"] != nil &&
			(m["level"] == "WARN" || m["level"] == "ERROR") {
			n++
		}
	}
	return n
}

// TestRateLimits: past its burst, a signing key and a client address are
// refused with 429 and Retry-After, and nothing is stored.
func TestRateLimits(t *testing.T) {
	t.Run("PerKey", func(t *testing.T) {
		f := newFixture(t, func(c *server.Config) { c.KeyRate = server.Rate{PerSecond: 0.01, Burst: 2} })
		st := f.station(0, 0)
		key := f.enroll(enrollment.RoleStation, st.Code, 10)
		v1 := f.seal(f.form(st, 1), key, 1, "")
		require.Equal(t, http.StatusCreated, f.submit(v1).status)
		require.Equal(t, http.StatusOK, f.submit(v1).status)
		before := f.counts()
		res := f.submit(f.seal(f.form(st, 2), key, 2, digest(v1)))
		require.Equal(t, http.StatusTooManyRequests, res.status)
		require.Equal(t, "rate-limited", res.kind(t))
		require.Equal(t, "100", res.header.Get("Retry-After"))
		require.Equal(t, before, f.counts())
		f.refusalLogged(routeSubmit, http.StatusTooManyRequests)

		// Time refills the bucket.
		f.clock.Advance(100 * time.Second)
		require.Equal(t, http.StatusCreated, f.submit(f.seal(f.form(st, 2), key, 2, digest(v1))).status)
	})
	t.Run("PerAddress", func(t *testing.T) {
		f := newFixture(t, func(c *server.Config) { c.AddrRate = server.Rate{PerSecond: 1, Burst: 3} })
		for range 3 {
			require.Equal(t, http.StatusOK, f.do("GET", "/v1/election", nil, nil).status)
		}
		res := f.do("GET", "/v1/election", nil, nil)
		require.Equal(t, http.StatusTooManyRequests, res.status)
		require.Equal(t, "1", res.header.Get("Retry-After"))
		res.problem(t)
		f.refusalLogged("GET /v1/election", http.StatusTooManyRequests)
		// Operations' routes are not limited.
		require.Equal(t, http.StatusOK, f.do("GET", "/healthz", nil, nil).status)
	})
}

// TestGracefulShutdown: a submission in flight when Serve's context is
// cancelled is committed and answered before Serve returns; new
// connections are refused.
func TestGracefulShutdown(t *testing.T) {
	f := newFixture(t, nil)
	st := f.station(0, 0)
	key := f.enroll(enrollment.RoleStation, st.Code, 10)
	addr, stop := f.serve()
	env := f.seal(f.form(st, 1), key, 1, "")

	// The request's head arrives with "Expect: 100-continue": the server's
	// "100 Continue" says that the handler runs and reads the body.
	conn := dial(t, addr)
	head := fmt.Sprintf("PUT /v1/submissions/%s HTTP/1.1\r\nHost: tally\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n", digest(env), len(env))
	_, err := conn.Write([]byte(head))
	require.NoError(t, err)
	in := bufio.NewReader(conn)
	cont, err := http.ReadResponse(in, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusContinue, cont.StatusCode)

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	f.logs.waitFor(t, "of the shutdown", func(m map[string]any) bool {
		return strings.HasPrefix(fmt.Sprint(m["msg"]), "shutting down")
	})
	select {
	case err := <-stopped:
		t.Fatalf("Serve returned with a request in flight: %v", err)
	default:
	}
	_, err = dialErr(addr)
	require.Error(t, err, "the listener is closed")

	_, err = conn.Write(env)
	require.NoError(t, err)
	res, err := http.ReadResponse(in, nil)
	require.NoError(t, err)
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode, "%s", body)
	require.Equal(t, digest(env), f.receiptOf(body).Submission)
	require.NoError(t, <-stopped)
	require.Equal(t, 1, f.counts().Submissions)
}
