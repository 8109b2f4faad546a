package client

import (
	"context"
	"net/http"
	"strconv"
)

// PartSize is the largest part of a photo sent in one request.
const PartSize = 512 << 10

// maxStalls: answers in a row that do not move the upload on before
// Upload gives up for this attempt.
const maxStalls = 3

// Upload sends a photo of a paper form, content-addressed by its SHA-256
// and resumable: it asks the server how much it has (HEAD), sends the rest
// in parts of at most PartSize (PATCH), follows the server's offset when
// it answers 409, and returns nil once the server holds the whole. The
// photo must be the one a submission the server stored names. A 422 (the
// whole does not hash to its name) or another refusal is a *RefusedError;
// a broken connection or a 5xx is a *RetryError, and the next Upload
// resumes where the server got to. Needs Login with the station's key.
func (c *Client) Upload(ctx context.Context, sha string, data []byte) error {
	op := "the photo " + short(sha)
	switch {
	case !isHexDigest(sha):
		return refusedHere(op, "%q is not a SHA-256 digest in lowercase hex", sha)
	case len(data) == 0:
		return refusedHere(op, "it is empty")
	case len(data) > maxAttachment:
		return refusedHere(op, "it has %d bytes, more than the %d the server takes", len(data), maxAttachment)
	case sha256Hex(data) != sha:
		return refusedHere(op, "its bytes hash to %s, not to its name", short(sha256Hex(data)))
	}
	size := int64(len(data))
	path := "/v1/attachments/" + sha
	offset, err := c.uploadOffset(ctx, op, path, size)
	if err != nil {
		return err
	}
	// A bound on the parts sent, whatever the server answers: every part
	// twice, and a few more.
	budget := 2*int((size+PartSize-1)/PartSize) + 4
	stalls, sent := 0, 0
	for offset < size {
		end := min(offset+PartSize, size)
		rq := &request{op: op, method: http.MethodPatch, path: path, body: data[offset:end],
			ctype: "application/offset+octet-stream", limit: maxJSONAnswer, header: map[string]string{
				"Upload-Length": strconv.FormatInt(size, 10),
				"Upload-Offset": strconv.FormatInt(offset, 10),
			}}
		a, err := c.sendAuthed(ctx, rq)
		if err != nil {
			return err
		}
		_, ours := problemOf(a, rq.method)
		if !(a.status >= 200 && a.status <= 299) && !(a.status == http.StatusConflict && ours) {
			return c.failure(rq, a)
		}
		next, ok := offsetOf(a.header, size)
		if !ok {
			return badAnswer(rq, a, "the answer has no valid Upload-Offset (%q)", a.header.Get("Upload-Offset"))
		}
		moved := next > offset
		if a.status == http.StatusConflict {
			moved = next != offset // the server is elsewhere: follow it
		}
		stalls++
		if moved {
			stalls = 0
		}
		sent++
		if stalls >= maxStalls || sent > budget {
			return badAnswer(rq, a, "the server does not get past byte %d of %d", next, size)
		}
		offset = next
	}
	return nil
}

// uploadOffset asks how much of an upload the server holds: 0 when it
// has none (404), or when it will not say (then the first part's answer
// tells).
func (c *Client) uploadOffset(ctx context.Context, op, path string, size int64) (int64, error) {
	rq := &request{op: op, method: http.MethodHead, path: path}
	a, err := c.sendAuthed(ctx, rq)
	if err != nil {
		return 0, err
	}
	switch {
	case a.status == http.StatusOK && a.header.Get("Upload-Length") == "":
		// Not the commission's answer (a captive portal's page): try again.
		return 0, badAnswer(rq, a, "the answer is not the upload's state (no Upload-Length)")
	case a.status == http.StatusOK:
		if n, err := strconv.ParseInt(a.header.Get("Upload-Length"), 10, 64); err != nil || n != size {
			return 0, &RefusedError{Op: op, Server: a.server, Status: a.status,
				Reason: "the server holds an upload of this name with another length (" + a.header.Get("Upload-Length") + " bytes)"}
		}
		offset, ok := offsetOf(a.header, size)
		if !ok {
			return 0, badAnswer(rq, a, "the answer has no valid Upload-Offset (%q)", a.header.Get("Upload-Offset"))
		}
		return offset, nil
	case a.status == http.StatusRequestTimeout || a.status == http.StatusTooManyRequests || a.status >= 500:
		return 0, c.failure(rq, a)
	case a.status >= 200 && a.status <= 299:
		return 0, badAnswer(rq, a, "the answer is not the upload's state")
	default:
		// 404: nothing begun. Any other answer to a HEAD has no detail to
		// show; the first part's answer will say it all.
		return 0, nil
	}
}

// offsetOf reads Upload-Offset, which must lie within the upload.
func offsetOf(h http.Header, size int64) (int64, bool) {
	n, err := strconv.ParseInt(h.Get("Upload-Offset"), 10, 64)
	if err != nil || n < 0 || n > size {
		return 0, false
	}
	return n, true
}
