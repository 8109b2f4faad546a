package client_test

import (
	"crypto/x509"
	"testing"

	"github.com/stretchr/testify/require"

	"tally/app/enrollment"
	"tally/sync/client"
)

// TestPinning: over https, the server's certificate must verify and its
// key must be one the definition pins, the primary or the backup;
// otherwise the connection is refused before a request is sent.
func TestPinning(t *testing.T) {
	f := newFixture(t, true)
	pin := client.Pin(f.ts.Certificate())
	withPins := func(pins ...string) client.Config {
		cfg := f.config()
		cfg.Servers[0].Pins = pins
		return cfg
	}

	t.Run("Primary", func(t *testing.T) {
		c := newClient(t, withPins(pin, otherPin))
		def, err := c.Definition(f.ctx)
		require.NoError(t, err)
		require.Equal(t, twoMunicipalities(t), def)

		// The whole way: enroll, submit, a verified receipt.
		st := f.station(0, 0)
		key := f.enroll(c, enrollment.RoleStation, st.Code, 10)
		env := f.seal(f.form(st, 1), key, 1, "")
		out := c.Submit(f.ctx, digest(env), env)
		require.Equal(t, client.Delivered, out.Kind, "%s", out.Reason)
		require.NoError(t, c.Login(f.ctx, key))
		_, err = c.Station(f.ctx, st.Code)
		require.NoError(t, err)
	})

	t.Run("Backup", func(t *testing.T) {
		c := newClient(t, withPins(otherPin, pin))
		_, err := c.Definition(f.ctx)
		require.NoError(t, err)
	})

	t.Run("WrongPin", func(t *testing.T) {
		before, conns := f.front.mark(), f.conns.Load()
		c := newClient(t, withPins(otherPin))
		_, err := c.Definition(f.ctx)
		var pe *client.PinError
		require.ErrorAs(t, err, &pe)
		require.Equal(t, pin, pe.Got)
		require.False(t, client.IsRefused(err))
		require.Contains(t, err.Error(), "not one the election definition pins")
		require.Contains(t, err.Error(), "about the election definition")
		out := c.Submit(f.ctx, digest(anEnvelope), anEnvelope)
		require.Equal(t, client.Retry, out.Kind)
		require.ErrorAs(t, out.Err, &pe)
		require.Empty(t, f.front.since(before), "a request reached the server")
		// One connection for each call: a wrong key is not tried again
		// even where public documents are.
		require.Equal(t, conns+2, f.conns.Load())
	})

	t.Run("PinsDoNotReplaceVerification", func(t *testing.T) {
		before := f.front.mark()
		cfg := withPins(pin)
		cfg.RootCAs = nil // the system's roots, which do not know the test server's certificate
		c := newClient(t, cfg)
		_, err := c.Definition(f.ctx)
		var unknown x509.UnknownAuthorityError
		require.ErrorAs(t, err, &unknown)
		require.Empty(t, f.front.since(before))
	})

	t.Run("HTTPSWithoutPins", func(t *testing.T) {
		_, err := client.New(withPins())
		require.ErrorContains(t, err, "pins")
	})
}

// TestFetchDefinition: a station with no definition yet downloads it from
// the address and pins the commission printed, knowing neither the
// election id nor the receipt key; the pins hold as for every request.
func TestFetchDefinition(t *testing.T) {
	f := newFixture(t, true)
	pin := client.Pin(f.ts.Certificate())
	cfg := func(pins ...string) client.Config {
		c := f.config()
		c.ElectionID, c.ReceiptKey = "", ""
		c.Servers[0].Pins = pins
		return c
	}
	def, err := client.FetchDefinition(f.ctx, cfg(otherPin, pin))
	require.NoError(t, err, "the backup pin")
	require.Equal(t, twoMunicipalities(t), def)

	before := f.front.mark()
	_, err = client.FetchDefinition(f.ctx, cfg(otherPin))
	var pe *client.PinError
	require.ErrorAs(t, err, &pe)
	require.Empty(t, f.front.since(before), "a request reached the server past a wrong pin")

	_, err = client.FetchDefinition(f.ctx, cfg())
	require.ErrorContains(t, err, "pins")
	_, err = client.FetchDefinition(f.ctx, client.Config{})
	require.ErrorContains(t, err, "no server")
}
