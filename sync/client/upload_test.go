package client_test

import (
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"tally/app/enrollment"
	"tally/app/seal"
	"tally/sync/client"
)

// TestUploadResumes: the line breaks in the middle of a part; the next
// Upload asks the server where it got to and sends only the rest. A
// server that says it has nothing while it has the first part answers the
// part from 0 with 409 and its offset, which the client follows.
func TestUploadResumes(t *testing.T) {
	f := newFixture(t, false)
	c := f.client()
	st := f.station(0, 0)
	key := f.enroll(c, enrollment.RoleStation, st.Code, 10)
	require.NoError(t, c.Login(f.ctx, key))

	// Two photos, each named by a stored submission.
	pic1, pic2 := photo(parts(2)+4321, 1), photo(parts(2)+1, 2)
	form := f.form(st, 1)
	form.PhotoSHA256 = sha(pic1)
	v1 := f.seal(form, key, 1, "")
	require.Equal(t, client.Delivered, c.Submit(f.ctx, digest(v1), v1).Kind)
	form = f.form(st, 2)
	form.PhotoSHA256 = sha(pic2)
	v2 := f.seal(form, key, 2, digest(v1))
	require.Equal(t, client.Delivered, c.Submit(f.ctx, digest(v2), v2).Kind)

	name := sha(pic1)
	path := "/v1/attachments/" + name
	// breakPart hangs up after reading half of the n-th part.
	breakPart := func(n int) func(w http.ResponseWriter, r *http.Request) bool {
		var seen atomic.Int32
		return func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method != http.MethodPatch {
				return false
			}
			if seen.Add(1) < int32(n) {
				return false
			}
			_, _ = io.CopyN(io.Discard, r.Body, r.ContentLength/2)
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return true
		}
	}

	// The first part breaks: nothing of it is kept.
	f.front.step(breakPart(1))
	err := c.Upload(f.ctx, name, pic1)
	var retry *client.RetryError
	require.ErrorAs(t, err, &retry)
	require.False(t, client.IsRefused(err))
	require.Contains(t, err.Error(), "the photo "+name[:12])

	// The second part breaks: the first is kept.
	f.front.step(breakPart(2))
	mark := f.front.mark()
	require.Error(t, c.Upload(f.ctx, name, pic1))
	require.Equal(t, []string{"HEAD " + path + " 404", "PATCH " + path + " @0 204", "PATCH " + path + " @524288 intercepted"},
		f.front.since(mark))

	// The line is back: only the rest is sent.
	f.front.step(nil)
	mark = f.front.mark()
	require.NoError(t, c.Upload(f.ctx, name, pic1))
	require.Equal(t, []string{"HEAD " + path + " 200", "PATCH " + path + " @524288 204", "PATCH " + path + " @1048576 204"},
		f.front.since(mark))
	got, err := c.Attachment(f.ctx, name)
	require.NoError(t, err)
	require.Equal(t, pic1, got)

	// The second photo: its first part arrives, then the server forgets
	// to say so (HEAD answers 404); the part from 0 is answered 409 with
	// the server's offset, and the upload goes on from there.
	name = sha(pic2)
	path = "/v1/attachments/" + name
	f.front.step(breakPart(2))
	require.Error(t, c.Upload(f.ctx, name, pic2))
	f.front.step(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusNotFound)
			return true
		}
		return false
	})
	mark = f.front.mark()
	require.NoError(t, c.Upload(f.ctx, name, pic2))
	require.Equal(t, []string{"HEAD " + path + " intercepted", "PATCH " + path + " @0 409", "PATCH " + path + " @524288 204",
		"PATCH " + path + " @1048576 204"}, f.front.since(mark))
	f.front.step(nil)
	got, err = c.Attachment(f.ctx, name)
	require.NoError(t, err)
	require.Equal(t, pic2, got)
}

// TestUploadRefusals: a 422 for a whole that does not match its name is a
// refusal with the server's detail; a server that never moves on is given
// up on, as a failure to try again.
func TestUploadRefusals(t *testing.T) {
	f := newFixture(t, false)
	c := f.client()
	st := f.station(0, 0)
	key := f.enroll(c, enrollment.RoleStation, st.Code, 10)
	require.NoError(t, c.Login(f.ctx, key))
	pic := photo(1000, 3)
	name := sha(pic)

	f.front.step(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPatch {
			w.Header().Set("Upload-Offset", "0")
			writeProblem(w, http.StatusUnprocessableEntity, "invalid", "the upload does not hash to "+name)
			return true
		}
		return false
	})
	err := c.Upload(f.ctx, name, pic)
	var refused *client.RefusedError
	require.ErrorAs(t, err, &refused)
	require.Equal(t, http.StatusUnprocessableEntity, refused.Status)
	require.Equal(t, "the upload does not hash to "+name, refused.Reason)

	// A 409 that points where the part was sent from, again and again.
	f.front.step(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPatch {
			w.Header().Set("Upload-Offset", r.Header.Get("Upload-Offset"))
			writeProblem(w, http.StatusConflict, "conflict", "the upload is at another offset")
			return true
		}
		return false
	})
	mark := f.front.mark()
	err = c.Upload(f.ctx, name, pic)
	var retry *client.RetryError
	require.ErrorAs(t, err, &retry)
	require.Contains(t, err.Error(), "does not get past byte 0")
	require.Len(t, f.front.since(mark), 4) // the HEAD and three parts

	// An offset outside the photo.
	f.front.step(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPatch {
			w.Header().Set("Upload-Offset", strconv.Itoa(len(pic)+1))
			w.WriteHeader(http.StatusNoContent)
			return true
		}
		return false
	})
	err = c.Upload(f.ctx, name, pic)
	require.ErrorAs(t, err, &retry)
	require.Contains(t, err.Error(), "Upload-Offset")

	// Nothing that is not a photo's digest is sent.
	f.front.step(nil)
	mark = f.front.mark()
	for _, bad := range []string{"", "../keys", seal.Digest(pic)[:63] + "G"} {
		require.True(t, client.IsRefused(c.Upload(f.ctx, bad, pic)), bad)
	}
	require.True(t, client.IsRefused(c.Upload(f.ctx, sha(nil), nil)))
	require.Empty(t, f.front.since(mark))
}
