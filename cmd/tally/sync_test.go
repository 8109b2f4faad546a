package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/commission"
	"tally/app/election"
	"tally/app/enrollment"
	"tally/app/seal"
	"tally/app/station"
	"tally/server"
	"tally/storage/commissionlite"
)

// laterHandler serves with a handler set once the server's address is
// known (the signed definition names it).
type laterHandler struct{ next atomic.Pointer[http.Handler] }

func (h *laterHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*h.next.Load()).ServeHTTP(w, r)
}

// TestEnrollAndSync runs a station from provisioning to the commission's
// receipt and the photo's upload, with the commands a training room uses,
// against a real tallyd API.
func TestEnrollAndSync(t *testing.T) {
	front := &laterHandler{}
	ts := httptest.NewServer(front)
	defer ts.Close()

	var keys [3]*seal.PrivateKey
	for i := range keys {
		k, err := seedKey(byte(i + 1))
		require.NoError(t, err)
		keys[i] = k
	}
	def, err := election.Demo(election.DemoOptions{Seed: 9, Kind: election.Assembly, Keys: election.Keys{
		Definition:  seal.EncodePublicKey(keys[0].Public()),
		Receipt:     seal.EncodePublicKey(keys[1].Public()),
		Publication: seal.EncodePublicKey(keys[2].Public()),
	}, Servers: []election.Server{{URL: ts.URL}}})
	require.NoError(t, err)
	signed, err := election.Sign(def, keys[0])
	require.NoError(t, err)
	st := &def.Stations[0]
	d := &demoElection{def: def, signed: signed, fingerprint: seal.Fingerprint(keys[0].ID()), receiptKey: keys[1],
		station: st, key: station.FormKey{Contest: st.Forms[0].Contest, Form: election.ResultsForm}}
	d.layout, err = def.Layout(d.key.Contest, d.key.Form)
	require.NoError(t, err)

	ctx := context.Background()
	store, err := commissionlite.Open(ctx, filepath.Join(t.TempDir(), "tallyd.db"))
	require.NoError(t, err)
	defer store.Close()
	comm := commission.New(store, commission.Options{ReceiptKey: keys[1]})
	defer comm.Close()
	_, err = comm.ImportElection(ctx, signed, d.fingerprint, "test")
	require.NoError(t, err)
	codes, err := comm.IssueCodes(ctx, enrollment.RoleStation, []string{st.Code}, "test")
	require.NoError(t, err)
	srv, err := server.New(server.Config{Service: comm})
	require.NoError(t, err)
	h := srv.Handler()
	front.next.Store(&h)

	dir := t.TempDir()
	f := &fixture{demoElection: d, t: t, dir: dir, db: filepath.Join(dir, "station.db"),
		definition: filepath.Join(dir, "election.json"), pinFile: filepath.Join(dir, "pin.txt")}
	require.NoError(t, os.WriteFile(f.definition, signed, 0o644))
	require.NoError(t, os.WriteFile(f.pinFile, []byte(goodPIN+"\n"), 0o600))
	// The definition comes from the commission's server, checked under the
	// printed fingerprint: a wrong one provisions nothing.
	f.fails("fingerprint", "", "station", "init", "--server", ts.URL, "--fingerprint", seal.Fingerprint(keys[1].ID()),
		"--station", st.Code, "--by", chair, "--pin-file", f.pinFile)
	_, err = os.Stat(f.db)
	require.True(t, os.IsNotExist(err), "no station database after a refused init")
	for want, args := range map[string][]string{
		"either --definition FILE or --server URL": {"--definition", f.definition, "--server", ts.URL},
		"--tls-pin goes with --server":             {"--definition", f.definition, "--tls-pin", "sha256/x"},
	} {
		r := f.tally("", append(append([]string{"station", "init"}, args...),
			"--fingerprint", f.fingerprint, "--station", st.Code, "--by", chair, "--pin-file", f.pinFile)...)
		assert.Equal(t, 2, r.code, "a usage error")
		assert.Contains(t, r.errOut, want)
	}
	f.ok("", "station", "init", "--server", ts.URL, "--fingerprint", f.fingerprint,
		"--station", st.Code, "--by", chair, "--pin-file", f.pinFile)

	f.fails("enrollment code", goodPIN+"\n", "station", "enroll", "--code", "AAAAA-BBBBB-CCCCC")
	f.ok(goodPIN+"\n", "station", "enroll", "--code", codes[0].Code)

	form := election.DemoForm(def, d.layout, st, 1)
	counts := map[string]int{}
	for k, v := range form.Counts {
		counts[string(k)] = v
	}
	file := f.countsFile("counts.json", counts, form.Members, "")
	photo := f.writeFile("form.png", pngPhoto(t))
	f.ok("", "station", "enter", "--contest", d.key.Contest, "--file", file, "--as", "first", "--by", chair, "--photo", photo)
	f.ok("", "station", "enter", "--contest", d.key.Contest, "--file", file, "--as", "second", "--by", second)
	f.ok(goodPIN+"\n", "station", "seal", "--contest", d.key.Contest)

	out := f.ok("", "sync")
	assert.Contains(t, out, "delivered")
	assert.Contains(t, out, "0 waiting, 1 photos to upload", "without the PIN the photo waits")
	out = f.ok("", "sync", "--pin-file", f.pinFile)
	assert.Contains(t, out, "0 waiting, 0 photos to upload")

	var c commission.Counts
	require.NoError(t, store.View(ctx, func(r commission.Reader) error {
		c, err = r.Counts()
		return err
	}))
	assert.Equal(t, 1, c.Submissions)
	assert.Equal(t, 1, c.Attachments)
	status := f.status()
	require.Len(t, status.Forms, 1)
	assert.True(t, status.Forms[0].Received)
	assert.Empty(t, status.Outbox)
	require.NotNil(t, status.Provisioned.EnrolledAt)
	assert.Equal(t, ts.URL, status.Provisioned.EnrolledWith)

	// The municipality's supervisor returns the form; the next sync brings
	// the decision, verified, and the form is returned with the reason.
	sup, err := seedKey(40)
	require.NoError(t, err)
	supCodes, err := comm.IssueCodes(ctx, enrollment.RoleSupervisor, []string{st.Municipality}, "test")
	require.NoError(t, err)
	req, err := enrollment.SignRequest(enrollment.Request{Election: def.Election.ID, Role: enrollment.RoleSupervisor,
		Unit: st.Municipality, Code: supCodes[0].Code, At: time.Now().UTC()}, sup)
	require.NoError(t, err)
	_, err = comm.Enroll(ctx, req)
	require.NoError(t, err)
	payload, err := json.Marshal(election.Decision{Format: election.DecisionFormat, Election: def.Election.ID,
		Station: st.Code, Contest: d.key.Contest, Form: d.key.Form, Submission: status.Forms[0].Head,
		Verdict: election.Return, Reason: "Line C does not match the paper", DecidedAt: time.Now().UTC().Truncate(time.Second)})
	require.NoError(t, err)
	decision, err := seal.Sign(election.DecisionPayloadType, payload, sup)
	require.NoError(t, err)
	_, err = comm.Decide(ctx, decision)
	require.NoError(t, err)

	out = f.ok("", "sync")
	assert.Contains(t, out, "reading the supervisors' decisions needs the PIN")
	assert.Equal(t, station.StateSealed, f.status().Forms[0].State)
	out = f.ok("", "sync", "--pin-file", f.pinFile)
	assert.Contains(t, out, "1 from the supervisors")
	status = f.status()
	assert.Equal(t, station.StateReturned, status.Forms[0].State)
	assert.Equal(t, "Line C does not match the paper", status.Forms[0].Reason)
}
