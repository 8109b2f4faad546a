package client_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tally/app/enrollment"
	"tally/sync/client"
)

// TestTokenRenewal: the token is renewed ahead of its expiry, and once
// when the server refuses it anyway (a clock that disagrees).
func TestTokenRenewal(t *testing.T) {
	f := newFixture(t, false)
	c := f.client()
	st := f.station(0, 0)
	key := f.enroll(c, enrollment.RoleStation, st.Code, 10)
	path := "/v1/stations/" + st.Code

	mark := f.front.mark()
	require.NoError(t, c.Login(f.ctx, key))
	_, err := c.Station(f.ctx, st.Code)
	require.NoError(t, err)
	require.Equal(t, []string{"POST /v1/auth/challenge 200", "POST /v1/auth/token 200", "GET " + path + " 200"},
		f.front.since(mark))

	// Within the token's life: no new login.
	f.serverClock.Advance(13 * time.Minute)
	f.clientClock.Advance(13 * time.Minute)
	mark = f.front.mark()
	_, err = c.Station(f.ctx, st.Code)
	require.NoError(t, err)
	require.Equal(t, []string{"GET " + path + " 200"}, f.front.since(mark))

	// Within a minute of its expiry: renewed first, never refused.
	f.serverClock.Advance(90 * time.Second)
	f.clientClock.Advance(90 * time.Second)
	mark = f.front.mark()
	_, err = c.Station(f.ctx, st.Code)
	require.NoError(t, err)
	require.Equal(t, []string{"POST /v1/auth/challenge 200", "POST /v1/auth/token 200", "GET " + path + " 200"},
		f.front.since(mark))
	id, ok := c.Identity()
	require.True(t, ok)
	require.Equal(t, tokenEpoch.Add(14*time.Minute+30*time.Second+15*time.Minute), id.ExpiresAt)

	// The server's clock runs ahead of this computer's: the token it
	// thinks expired is refused once, renewed, and the read made again.
	f.serverClock.Advance(16 * time.Minute)
	mark = f.front.mark()
	_, err = c.Station(f.ctx, st.Code)
	require.NoError(t, err)
	require.Equal(t, []string{"GET " + path + " 401", "POST /v1/auth/challenge 200", "POST /v1/auth/token 200",
		"GET " + path + " 200"}, f.front.since(mark))

	// A server that refuses every token: renewed once, then the refusal.
	f.front.step(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tally"`)
			writeProblem(w, http.StatusUnauthorized, "unauthorized", "the token expired")
			return true
		}
		return false
	})
	mark = f.front.mark()
	_, err = c.Station(f.ctx, st.Code)
	var refused *client.RefusedError
	require.ErrorAs(t, err, &refused)
	require.Equal(t, http.StatusUnauthorized, refused.Status)
	require.Equal(t, "the token expired", refused.Reason)
	require.Equal(t, []string{"GET " + path + " intercepted", "POST /v1/auth/challenge 200", "POST /v1/auth/token 200",
		"GET " + path + " intercepted"}, f.front.since(mark))
	f.front.step(nil)

	// Logged out: nothing is sent.
	c.Logout()
	mark = f.front.mark()
	_, err = c.Station(f.ctx, st.Code)
	require.ErrorIs(t, err, client.ErrNotLoggedIn)
	require.Empty(t, f.front.since(mark))
}

// TestTokenLifetimeFromTheServersDate: with the server's Date in the
// answer, a laptop whose clock is a year off still renews on time.
func TestTokenLifetimeFromTheServersDate(t *testing.T) {
	f := newFixture(t, false)
	// The server's token clock is the real one, as in production, so its
	// Date header and the token's expiry agree; the laptop's is wrong.
	f.serverClock.ns.Store(time.Now().UnixNano())
	cfg := f.config()
	skewed := newClock(time.Now().Add(-365*24*time.Hour), 0)
	cfg.Now = skewed.Now
	c := newClient(t, cfg)
	st := f.station(0, 0)
	key := f.enroll(c, enrollment.RoleStation, st.Code, 10)
	require.NoError(t, c.Login(f.ctx, key))

	mark := f.front.mark()
	skewed.Advance(13 * time.Minute)
	_, err := c.Station(f.ctx, st.Code)
	require.NoError(t, err)
	require.Len(t, f.front.since(mark), 1) // the token still lives

	skewed.Advance(time.Minute + 30*time.Second) // 14½ minutes on: renew
	mark = f.front.mark()
	_, err = c.Station(f.ctx, st.Code)
	require.NoError(t, err)
	require.Equal(t, "POST /v1/auth/challenge 200", f.front.since(mark)[0])
}
