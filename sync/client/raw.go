package client

import (
	"context"
	"mime"
	"net/http"
	"net/url"

	"tally/app/enrollment"
)

// The supervisor's reads, answered with the bytes as the server sent them:
// the supervisor's app keeps and checks what was fetched itself
// (app/review parses these answers strictly), so that nothing is lost or
// changed by decoding them here into the server's types and back.

// SignedKeyList fetches the commission's signed list of enrolled keys
// (GET /v1/keys), verifies it as KeyList does, and returns the envelope
// exactly as served.
func (c *Client) SignedKeyList(ctx context.Context) ([]byte, error) {
	rq := &request{op: "the list of enrolled keys", method: http.MethodGet, path: "/v1/keys", public: true,
		limit: enrollment.MaxKeyListSize}
	a, err := c.call(ctx, rq, nil)
	if err != nil {
		return nil, err
	}
	if _, err := enrollment.OpenKeyList(a.body, c.receipt, c.cfg.ElectionID); err != nil {
		return nil, badAnswer(rq, a, "the answer is not the commission's signed key list (%s): %v", describeBody(a), err)
	}
	return a.body, nil
}

// MunicipalityRaw reads a supervisor's overview of a municipality (GET
// /v1/municipalities/{code}/stations), as Municipality does, and returns
// the JSON document as served. Needs Login with a supervisor's key.
func (c *Client) MunicipalityRaw(ctx context.Context, code string) ([]byte, error) {
	rq := &request{op: "the stations of municipality " + code, method: http.MethodGet,
		path: "/v1/municipalities/" + url.PathEscape(code) + "/stations", limit: maxMunicipality}
	return c.rawJSON(ctx, rq)
}

// ConflictsRaw reads the conflicts recorded for a municipality's stations
// (GET /v1/municipalities/{code}/conflicts), as Conflicts does, and
// returns the JSON document as served. Needs Login with a supervisor's key.
func (c *Client) ConflictsRaw(ctx context.Context, code string) ([]byte, error) {
	rq := &request{op: "the conflicts of municipality " + code, method: http.MethodGet,
		path: "/v1/municipalities/" + url.PathEscape(code) + "/conflicts", limit: maxMunicipality}
	return c.rawJSON(ctx, rq)
}

// StationRaw reads a station's record (GET /v1/stations/{code}), as
// Station does, and returns the JSON document as served. Needs Login.
func (c *Client) StationRaw(ctx context.Context, code string) ([]byte, error) {
	rq := &request{op: "the record of station " + code, method: http.MethodGet,
		path: "/v1/stations/" + url.PathEscape(code), limit: maxStationView}
	return c.rawJSON(ctx, rq)
}

// rawJSON sends an authenticated GET and returns a 2xx answer's body, once
// it is the JSON document the commission's server sends.
func (c *Client) rawJSON(ctx context.Context, rq *request) ([]byte, error) {
	a, err := c.callAuthed(ctx, rq, nil)
	if err != nil {
		return nil, err
	}
	if mt, _, err := mime.ParseMediaType(a.header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, badAnswer(rq, a, "the answer is not the JSON document the commission's server sends (%s): a captive portal?",
			describeBody(a))
	}
	return a.body, nil
}
