package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/commission"
	"tally/app/election"
	"tally/app/election/electiontest"
	"tally/app/enrollment"
	"tally/app/review"
	"tally/app/seal"
	"tally/server"
	"tally/storage/commissionlite"
)

func init() {
	// The least Argon2id work the vault accepts: the tests unlock often.
	supervisorOptions.KDF = seal.KDFParams{Time: 1, MemoryKiB: 8, Threads: 1}
}

// supervisorRun runs a supervisor command on the test's database.
type supervisorRun struct {
	t  *testing.T
	db string
}

func (r supervisorRun) tally(stdin string, args ...string) result {
	r.t.Helper()
	var out, errOut bytes.Buffer
	code := run(append(append([]string{"supervisor"}, args...), "--db", r.db), strings.NewReader(stdin), &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

func (r supervisorRun) ok(stdin string, args ...string) string {
	r.t.Helper()
	res := r.tally(stdin, args...)
	require.Equal(r.t, 0, res.code, "tally supervisor %v: %s%s", args, res.out, res.errOut)
	return res.out
}

func (r supervisorRun) fails(code int, want, stdin string, args ...string) {
	r.t.Helper()
	res := r.tally(stdin, args...)
	assert.Equal(r.t, code, res.code, "tally supervisor %v: %s%s", args, res.out, res.errOut)
	assert.Contains(r.t, res.errOut, want, "tally supervisor %v", args)
}

// TestSupervisorCommands runs a municipality's supervisor from
// provisioning to a decision that the commission stores, with the
// commands a training room uses, against a real tallyd API.
func TestSupervisorCommands(t *testing.T) {
	front := &laterHandler{}
	ts := httptest.NewServer(front)
	defer ts.Close()
	def, signed, err := electiontest.Election(electiontest.Options{Kind: election.Municipal, Seed: 3, Municipalities: 1,
		Servers: []election.Server{{URL: ts.URL}}})
	require.NoError(t, err)
	ctx := context.Background()
	store, err := commissionlite.Open(ctx, filepath.Join(t.TempDir(), "tallyd.db"))
	require.NoError(t, err)
	defer store.Close()
	comm := commission.New(store, commission.Options{ReceiptKey: electiontest.Key(electiontest.ReceiptSeed)})
	defer comm.Close()
	_, err = comm.ImportElection(ctx, signed, electiontest.Fingerprint(), "test")
	require.NoError(t, err)
	srv, err := server.New(server.Config{Service: comm})
	require.NoError(t, err)
	h := srv.Handler()
	front.next.Store(&h)

	var st *election.Station
	for i := range def.Stations {
		if def.Stations[i].Kind == election.Polling {
			st = &def.Stations[i]
			break
		}
	}
	require.NotNil(t, st)
	muni := st.Municipality

	// The station is enrolled and submits its first form.
	stKey := electiontest.Key(30)
	stCodes, err := comm.IssueCodes(ctx, enrollment.RoleStation, []string{st.Code}, "test")
	require.NoError(t, err)
	req, err := enrollment.SignRequest(enrollment.Request{Election: def.Election.ID, Role: enrollment.RoleStation,
		Unit: st.Code, Code: stCodes[0].Code, At: time.Now().UTC()}, stKey)
	require.NoError(t, err)
	_, err = comm.Enroll(ctx, req)
	require.NoError(t, err)
	l, err := def.Layout(st.Forms[0].Contest, st.Forms[0].Form)
	require.NoError(t, err)
	form := election.DemoForm(def, l, st, 1)
	sealSub := func(f *election.Form, version int, supersedes string) string {
		payload, err := json.Marshal(election.Submission{Format: election.SubmissionFormat, Form: *f, Version: version,
			Supersedes: supersedes, SealedAt: time.Date(2026, 10, 4, 19, 30, version, 0, time.UTC), Sequence: uint64(version)})
		require.NoError(t, err)
		env, err := seal.Sign(election.SubmissionPayloadType, payload, stKey)
		require.NoError(t, err)
		r, err := comm.Submit(ctx, env)
		require.NoError(t, err)
		return r.Submission.Digest
	}
	v1 := sealSub(form, 1, "")

	dir := t.TempDir()
	sup := supervisorRun{t: t, db: filepath.Join(dir, "state", "supervisor.db")}
	definition := filepath.Join(dir, "election.json")
	pinFile := filepath.Join(dir, "pin.txt")
	require.NoError(t, os.WriteFile(definition, signed, 0o644))
	require.NoError(t, os.WriteFile(pinFile, []byte(goodPIN+"\n"), 0o600))

	// Provisioning: a wrong fingerprint or municipality leaves no database.
	sup.fails(1, "fingerprint", "", "init", "--definition", definition, "--fingerprint",
		seal.Fingerprint(electiontest.Key(9).ID()), "--municipality", muni, "--by", "Drita Berisha", "--pin-file", pinFile)
	sup.fails(1, "municipality", "", "init", "--definition", definition, "--fingerprint", electiontest.Fingerprint(),
		"--municipality", "ZZ", "--by", "Drita Berisha", "--pin-file", pinFile)
	_, err = os.Stat(sup.db)
	require.True(t, os.IsNotExist(err), "no database after a refused init")
	sup.fails(2, "either --definition FILE or --server URL", "", "init", "--fingerprint", electiontest.Fingerprint(),
		"--municipality", muni, "--by", "Drita Berisha")
	sup.fails(1, "no supervisor's database", "", "dashboard")
	out := sup.ok("", "init", "--definition", definition, "--fingerprint", electiontest.Fingerprint(),
		"--municipality", muni, "--by", "Drita Berisha", "--pin-file", pinFile)
	assert.Contains(t, out, "supervisor of municipality "+muni)

	// Enrollment, with the PIN on standard input.
	supCodes, err := comm.IssueCodes(ctx, enrollment.RoleSupervisor, []string{muni}, "test")
	require.NoError(t, err)
	sup.fails(1, "the PIN is wrong", wrongPIN+"\n", "enroll", "--code", supCodes[0].Code)
	sup.fails(1, "enrollment code", goodPIN+"\n", "enroll", "--code", "AAAAA-BBBBB-CCCCC")
	out = sup.ok(goodPIN+"\n", "enroll", "--code", supCodes[0].Code)
	assert.Contains(t, out, "enrolled        supervisor "+muni)

	// Nothing fetched yet: nothing to show or decide.
	sup.fails(1, "not fetched", "", "show", v1)
	out = sup.ok("", "dashboard")
	assert.Contains(t, out, "fetched         never")

	out = sup.ok("", "sync", "--pin-file", pinFile)
	assert.Contains(t, out, "online          yes")
	assert.Contains(t, out, "stations        1 records read")
	assert.Contains(t, out, "to fetch        0 envelopes, 0 photos")

	out = sup.ok("", "dashboard")
	assert.Contains(t, out, st.Code)
	assert.Contains(t, out, v1)
	var dash dashboardJSON
	require.NoError(t, json.Unmarshal([]byte(sup.ok("", "dashboard", "--json")), &dash))
	assert.Equal(t, 1, dash.Counts[review.Received])
	assert.Equal(t, dash.Total, len(dash.Stations))
	require.NoError(t, json.Unmarshal([]byte(sup.ok("", "dashboard", "--state", "received", "--json")), &dash))
	require.Len(t, dash.Stations, 1)
	assert.Equal(t, st.Code, dash.Stations[0].Code)
	require.NotNil(t, dash.Stations[0].Turnout)
	require.NoError(t, json.Unmarshal([]byte(sup.ok("", "dashboard", "--search", "no such station", "--json")), &dash))
	assert.Empty(t, dash.Stations)
	sup.fails(2, "--state \"done\" is not one of", "", "dashboard", "--state", "done")

	out = sup.ok("", "show", v1)
	assert.Contains(t, out, "signed by station key "+seal.Fingerprint(stKey.ID()))
	assert.Contains(t, out, "latest          yes")
	var shownSub submissionJSON
	require.NoError(t, json.Unmarshal([]byte(sup.ok("", "show", v1, "--json")), &shownSub))
	assert.Equal(t, form.Counts, shownSub.Counts)
	assert.Equal(t, 1, shownSub.Version)
	assert.NotZero(t, shownSub.ReceiptNumber)

	// Deciding: usage and refusals change nothing.
	sup.fails(2, "either --approve or --return REASON", "", "decide", v1, "--approve", "--return", "why")
	sup.fails(2, "either --approve or --return REASON", "", "decide", v1)
	sup.fails(2, "--return needs the reason", "", "decide", v1, "--return", " ")
	sup.fails(1, "the PIN is wrong", wrongPIN+"\n", "decide", v1, "--return", "Line C does not match the paper")
	require.NoError(t, json.Unmarshal([]byte(sup.ok("", "dashboard", "--json")), &dash))
	assert.Zero(t, dash.Pending)
	out = sup.ok("", "decide", v1, "--return", "Line C does not match the paper", "--pin-file", pinFile)
	assert.Contains(t, out, "in the outbox")
	require.NoError(t, json.Unmarshal([]byte(sup.ok("", "dashboard", "--json")), &dash))
	assert.Equal(t, 1, dash.Pending)
	assert.Equal(t, 1, dash.Counts[review.Waiting])

	out = sup.ok("", "sync", "--pin-file", pinFile)
	assert.Contains(t, out, "decisions       1 sent, 0 waiting, 0 refused")
	rec, err := comm.StationRecord(ctx, st.Code)
	require.NoError(t, err)
	require.Len(t, rec.Decisions, 1)
	assert.Equal(t, election.Return, rec.Decisions[0].Verdict)
	out = sup.ok("", "show", v1)
	assert.Contains(t, out, "Line C does not match the paper; the commission has it")

	// The station corrects the form: the next sync fetches version 2, and
	// show lists what changed; version 1 is no longer decided on.
	corrected := *form
	corrected.Remarks = "Line C recounted"
	v2 := sealSub(&corrected, 2, v1)
	sup.ok("", "sync", "--pin-file", pinFile)
	out = sup.ok("", "show", v2)
	assert.Contains(t, out, "form            "+st.Forms[0].Contest)
	assert.Contains(t, out, "version 2")
	assert.Contains(t, out, "remarks")
	assert.Contains(t, out, "→ Line C recounted")
	sup.fails(1, "latest version", "", "decide", v1, "--approve", "--pin-file", pinFile)
	sup.ok("", "decide", v2, "--approve", "--pin-file", pinFile)
	out = sup.ok("", "sync", "--pin-file", pinFile, "--json")
	var state struct {
		Online bool `json:"online"`
		Sent   int  `json:"sent"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &state))
	assert.True(t, state.Online)
	assert.Equal(t, 1, state.Sent)

	// Another envelope for version 1 is refused at the commission as a
	// conflict: the next sync fetches the list, and the commands show it.
	out = sup.ok("", "conflicts")
	assert.Contains(t, out, "conflicts       none")
	other := *form
	other.Remarks = "from another laptop"
	payload, err := json.Marshal(election.Submission{Format: election.SubmissionFormat, Form: other, Version: 1,
		SealedAt: time.Date(2026, 10, 4, 19, 45, 0, 0, time.UTC), Sequence: 7})
	require.NoError(t, err)
	otherEnv, err := seal.Sign(election.SubmissionPayloadType, payload, stKey)
	require.NoError(t, err)
	_, err = comm.Submit(ctx, otherEnv)
	require.Equal(t, commission.EConflict, commission.KindOf(err), "%v", err)
	out = sup.ok("", "sync", "--pin-file", pinFile)
	assert.Contains(t, out, "conflicts       1 in the commission's list")
	var conflicts struct {
		Conflicts []conflictJSON `json:"conflicts"`
	}
	require.NoError(t, json.Unmarshal([]byte(sup.ok("", "conflicts", "--json")), &conflicts))
	require.Len(t, conflicts.Conflicts, 1)
	c := conflicts.Conflicts[0]
	assert.Equal(t, seal.Digest(otherEnv), c.Digest)
	assert.Equal(t, review.ConflictSameVersion, c.Kind)
	assert.Equal(t, v1, c.Stored)
	assert.True(t, c.Standing, "the form stands in conflict until a new version or decision")
	out = sup.ok("", "conflicts")
	assert.Contains(t, out, seal.Digest(otherEnv))
	require.NoError(t, json.Unmarshal([]byte(sup.ok("", "dashboard", "--json")), &dash))
	assert.Equal(t, 1, dash.Conflicts)
}
