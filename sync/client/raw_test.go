package client_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"tally/app/enrollment"
	"tally/app/seal"
	"tally/server"
	"tally/sync/client"
)

// TestRawReads: the supervisor's reads return the bytes the server sent,
// which decode to what the typed reads return; the key list is verified
// first; a page that is not the commission's JSON is a retry.
func TestRawReads(t *testing.T) {
	f := newFixture(t, false)
	c := f.client()
	stA := f.station(0, 0)
	muni := stA.Municipality
	supervisor := f.enroll(c, enrollment.RoleSupervisor, muni, 20)

	raw, err := c.SignedKeyList(f.ctx)
	require.NoError(t, err)
	list, err := c.KeyList(f.ctx)
	require.NoError(t, err)
	opened, err := enrollment.OpenKeyList(raw, mustRing(t), list.Election)
	require.NoError(t, err)
	require.Equal(t, list.Keys, opened.Keys)

	_, err = c.MunicipalityRaw(f.ctx, muni)
	require.ErrorIs(t, err, client.ErrNotLoggedIn)
	require.NoError(t, c.Login(f.ctx, supervisor))
	body, err := c.MunicipalityRaw(f.ctx, muni)
	require.NoError(t, err)
	typed, err := c.Municipality(f.ctx, muni)
	require.NoError(t, err)
	var decoded server.MunicipalityView
	require.NoError(t, json.Unmarshal(body, &decoded))
	require.Equal(t, *typed, decoded)

	body, err = c.StationRaw(f.ctx, stA.Code)
	require.NoError(t, err)
	st, err := c.Station(f.ctx, stA.Code)
	require.NoError(t, err)
	var sv server.StationView
	require.NoError(t, json.Unmarshal(body, &sv))
	require.Equal(t, *st, sv)

	_, err = c.MunicipalityRaw(f.ctx, f.def.Municipalities[1].Code)
	var refused *client.RefusedError
	require.ErrorAs(t, err, &refused)
	require.Equal(t, http.StatusForbidden, refused.Status)

	// A captive portal's page in place of the commission's JSON.
	f.front.step(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/v1/stations/") {
			return false
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html>sign in to the hotel's wifi</html>"))
		return true
	})
	defer f.front.step(nil)
	_, err = c.StationRaw(f.ctx, stA.Code)
	var retry *client.RetryError
	require.ErrorAs(t, err, &retry)
	require.Contains(t, err.Error(), "captive portal")
}

// mustRing is the commission's receipt key as a keyring.
func mustRing(t *testing.T) *seal.Keyring {
	t.Helper()
	pub, err := seal.ParsePublicKey(receiptKey(t))
	require.NoError(t, err)
	ring, err := seal.NewKeyring(pub)
	require.NoError(t, err)
	return ring
}
