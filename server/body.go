package server

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"tally/app/seal"
)

// The media types accepted for an envelope's body, and for an attachment's
// part.
var (
	envelopeTypes = []string{"application/json", "application/vnd.dsse+json"}
	partTypes     = []string{"application/offset+octet-stream", "application/octet-stream"}
)

func unsupportedType(format string, args ...any) *problem {
	return newProblem(http.StatusUnsupportedMediaType, kindMediaType, format, args...)
}

func tooLarge(limit int64) *problem {
	return newProblem(http.StatusRequestEntityTooLarge, kindTooLarge, "the body is larger than the limit of %d bytes", limit)
}

// checkContentType accepts one of the media types, with no charset but
// UTF-8.
func checkContentType(r *http.Request, allowed []string) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return unsupportedType("the request has no Content-Type; send %s", strings.Join(allowed, " or "))
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || !slices.Contains(allowed, mt) {
		return unsupportedType("Content-Type %q is not %s", truncate(ct, 80), strings.Join(allowed, " or "))
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return unsupportedType("charset %q is not utf-8", truncate(cs, 40))
	}
	return nil
}

// readBody reads a whole body of 1 to limit bytes. A body that ends before
// its announced length is a 400; one over the limit a 413, refused before
// reading when its length is announced.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(limit)
		}
		return nil, badRequest("the body could not be read whole: %v", err)
	}
	if int64(len(b)) > limit {
		return nil, tooLarge(limit)
	}
	if len(b) == 0 {
		return nil, badRequest("the body is empty")
	}
	return b, nil
}

// readEnvelope reads an envelope's body and parses it, strictly but
// without verifying anything (the use case verifies): what does not parse
// is a 400, and a body the use case then refuses was at least well-formed.
func readEnvelope(r *http.Request, limit int64) ([]byte, *seal.Envelope, error) {
	if err := checkContentType(r, envelopeTypes); err != nil {
		return nil, nil, err
	}
	body, err := readBody(r, limit)
	if err != nil {
		return nil, nil, err
	}
	env, err := seal.Parse(body, int(limit))
	if errors.Is(err, seal.ErrTooLarge) {
		return nil, nil, tooLarge(limit)
	} else if err != nil {
		return nil, nil, badRequest("%v", err)
	}
	return body, env, nil
}

// checkDigest holds a body to the digest its path names.
func checkDigest(body []byte, digest string) error {
	if got := seal.Digest(body); got != digest {
		return badRequest("the path names the digest %s, but the body's SHA-256 is %s", digest, got)
	}
	return nil
}

// headerInt reads a header holding a non-negative decimal integer.
func headerInt(r *http.Request, name string) (int64, error) {
	v := r.Header.Get(name)
	if v == "" {
		return 0, badRequest("the %s header is missing", name)
	}
	if len(v) > 18 || strings.Trim(v, "0123456789") != "" {
		return 0, badRequest("the %s header is not a non-negative integer", name)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, badRequest("the %s header is not a non-negative integer", name)
	}
	return n, nil
}

// writeJSON answers with a JSON document.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n')) // the status is sent: a failure here is the client's going away
	return nil
}

// writeEnvelope answers with an envelope's bytes, exactly as stored.
func writeEnvelope(w http.ResponseWriter, status int, env []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(env)))
	w.WriteHeader(status)
	_, _ = w.Write(env)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
