package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"

	"tally/app/commission"
	"tally/app/election"
	"tally/app/enrollment"
	"tally/app/seal"
	"tally/server"
)

// Answer size limits: a little over what the server may send.
const (
	maxJSONAnswer    = 64 << 10
	maxStationView   = 8 << 20
	maxMunicipality  = 32 << 20
	maxSubmission    = commission.MaxEnvelopeSize
	maxAttachment    = commission.MaxAttachmentSize
	maxDefinitionEnv = election.MaxDefinitionSize*4/3 + 64<<10
)

// Definition fetches the signed election definition (GET /v1/election),
// exactly as served; the caller verifies it. A couple of quick retries are
// made on a 408, 429, 5xx or a broken connection.
func (c *Client) Definition(ctx context.Context) ([]byte, error) {
	rq := &request{op: "the election definition", method: http.MethodGet, path: "/v1/election", public: true,
		limit: maxDefinitionEnv}
	a, err := c.call(ctx, rq, nil)
	if err != nil {
		return nil, err
	}
	if a.status != http.StatusOK {
		return nil, badAnswer(rq, a, "the answer is not the whole definition")
	}
	if _, err := seal.Parse(a.body, maxDefinitionEnv); err != nil {
		return nil, badAnswer(rq, a, "the answer is not a signed definition (%s, %s): a captive portal?", describeBody(a), err)
	}
	return a.body, nil
}

// KeyList fetches the commission's signed list of enrolled keys (GET
// /v1/keys) and verifies it under the receipt key, for this election.
func (c *Client) KeyList(ctx context.Context) (*enrollment.KeyList, error) {
	rq := &request{op: "the list of enrolled keys", method: http.MethodGet, path: "/v1/keys", public: true,
		limit: enrollment.MaxKeyListSize}
	a, err := c.call(ctx, rq, nil)
	if err != nil {
		return nil, err
	}
	list, err := enrollment.OpenKeyList(a.body, c.receipt, c.cfg.ElectionID)
	if err != nil {
		return nil, badAnswer(rq, a, "the answer is not the commission's signed key list (%s): %v", describeBody(a), err)
	}
	return list, nil
}

// Enroll sends a signed enrollment request (enrollment.SignRequest) to
// POST /v1/enroll. A repeat of a request that succeeded gets the same
// answer.
func (c *Client) Enroll(ctx context.Context, req []byte) (*server.EnrolledKey, error) {
	op := "the enrollment"
	env, err := seal.Parse(req, enrollment.MaxRequestSize)
	if err != nil {
		return nil, refusedHere(op, "the request is not a signed envelope: %v", err)
	}
	kid := env.Signatures[0].KeyID
	op = "the enrollment of key " + seal.Fingerprint(kid)
	rq := &request{op: op, method: http.MethodPost, path: "/v1/enroll", body: req, ctype: "application/json",
		limit: maxJSONAnswer}
	var k server.EnrolledKey
	a, err := c.call(ctx, rq, &k)
	if err != nil {
		return nil, err
	}
	if k.KeyID != kid {
		return nil, badAnswer(rq, a, "the server enrolled key %s, not %s", seal.Fingerprint(k.KeyID), seal.Fingerprint(kid))
	}
	return &k, nil
}

// Decide sends a supervisor's signed decision (PUT /v1/decisions/{digest});
// digest must be seal.Digest(envelope). A repeat gets the same answer.
func (c *Client) Decide(ctx context.Context, digest string, envelope []byte) (*server.DecisionView, error) {
	op := "the decision " + short(digest)
	if got := seal.Digest(envelope); got != digest {
		return nil, refusedHere(op, "its digest is %s, not %s", short(got), short(digest))
	}
	rq := &request{op: op, method: http.MethodPut, path: "/v1/decisions/" + digest, body: envelope,
		ctype: "application/json", limit: maxJSONAnswer}
	var d server.DecisionView
	a, err := c.call(ctx, rq, &d)
	if err != nil {
		return nil, err
	}
	if d.Digest != digest {
		return nil, badAnswer(rq, a, "the server stored decision %s, not %s", short(d.Digest), short(digest))
	}
	return &d, nil
}

// Station reads a station's record (GET /v1/stations/{code}): its forms'
// states, every stored version with its receipt, the decisions and the
// conflicts. A station reads itself, a supervisor the stations of their
// municipality. Needs Login.
func (c *Client) Station(ctx context.Context, code string) (*server.StationView, error) {
	rq := &request{op: "the record of station " + code, method: http.MethodGet,
		path: "/v1/stations/" + url.PathEscape(code), limit: maxStationView}
	var v server.StationView
	if _, err := c.callAuthed(ctx, rq, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Municipality reads a supervisor's overview of a municipality (GET
// /v1/municipalities/{code}/stations). Needs Login with a supervisor's key.
func (c *Client) Municipality(ctx context.Context, code string) (*server.MunicipalityView, error) {
	rq := &request{op: "the stations of municipality " + code, method: http.MethodGet,
		path: "/v1/municipalities/" + url.PathEscape(code) + "/stations", limit: maxMunicipality}
	var v server.MunicipalityView
	if _, err := c.callAuthed(ctx, rq, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Conflicts reads the conflicts recorded for a municipality's stations
// (GET /v1/municipalities/{code}/conflicts). Needs Login with a
// supervisor's key.
func (c *Client) Conflicts(ctx context.Context, code string) (*server.ConflictsView, error) {
	rq := &request{op: "the conflicts of municipality " + code, method: http.MethodGet,
		path: "/v1/municipalities/" + url.PathEscape(code) + "/conflicts", limit: maxMunicipality}
	var v server.ConflictsView
	if _, err := c.callAuthed(ctx, rq, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Submission fetches a stored submission's envelope exactly as the server
// received it (GET /v1/submissions/{digest}), checked against its digest;
// the caller verifies its signature. Needs Login.
func (c *Client) Submission(ctx context.Context, digest string) ([]byte, error) {
	op := "the submission " + short(digest)
	if !isHexDigest(digest) {
		return nil, refusedHere(op, "%q is not a SHA-256 digest in lowercase hex", digest)
	}
	rq := &request{op: op, method: http.MethodGet, path: "/v1/submissions/" + digest, limit: maxSubmission}
	a, err := c.callAuthed(ctx, rq, nil)
	if err != nil {
		return nil, err
	}
	if got := seal.Digest(a.body); got != digest {
		return nil, badAnswer(rq, a, "the answer's digest is %s, not the submission's (%s)", short(got), describeBody(a))
	}
	return a.body, nil
}

// Attachment fetches a stored photo (GET /v1/attachments/{sha256}),
// checked against its hash. Needs Login.
func (c *Client) Attachment(ctx context.Context, sha string) ([]byte, error) {
	op := "the photo " + short(sha)
	if !isHexDigest(sha) {
		return nil, refusedHere(op, "%q is not a SHA-256 digest in lowercase hex", sha)
	}
	rq := &request{op: op, method: http.MethodGet, path: "/v1/attachments/" + sha, limit: maxAttachment}
	a, err := c.callAuthed(ctx, rq, nil)
	if err != nil {
		return nil, err
	}
	if a.status != http.StatusOK {
		return nil, badAnswer(rq, a, "the answer is not the whole photo")
	}
	if got := sha256Hex(a.body); got != sha {
		return nil, badAnswer(rq, a, "the answer's SHA-256 is %s, not the photo's (%s)", short(got), describeBody(a))
	}
	return a.body, nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// isHexDigest: 64 lowercase hexadecimal characters.
func isHexDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}

// Ping asks the commission's server whether it is alive (GET /healthz):
// nil when a server of the commission answered so, not a captive portal's
// page. The worker uses it to tell the screens whether the commission can
// be reached while nothing is waiting to be sent.
func (c *Client) Ping(ctx context.Context) error {
	rq := &request{op: "the server's health", method: http.MethodGet, path: "/healthz", limit: maxJSONAnswer}
	var h struct {
		Status string `json:"status"`
	}
	a, err := c.call(ctx, rq, &h)
	if err != nil {
		return err
	}
	if h.Status != "alive" {
		return badAnswer(rq, a, "the answer is not the commission's health (%s)", describeBody(a))
	}
	return nil
}
