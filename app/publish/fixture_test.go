package publish_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/election/electiontest"
	"tally/app/publish"
	"tally/app/seal"
)

// mustLoad makes a demo election and loads it back from its signed form,
// as the server does.
func mustLoad(o electiontest.Options) *election.Definition {
	_, signed, err := electiontest.Election(o)
	if err != nil {
		panic(err)
	}
	def, err := election.OpenSigned(signed, election.Trust{})
	if err != nil {
		panic(err)
	}
	return def
}

var (
	smallAssembly  = sync.OnceValue(func() *election.Definition { return mustLoad(electiontest.Options{Municipalities: 3}) })
	smallMunicipal = sync.OnceValue(func() *election.Definition {
		return mustLoad(electiontest.Options{Kind: election.Municipal, Municipalities: 2})
	})
)

// stationKey is a station's key, made from its code.
func stationKey(code string) *seal.PrivateKey {
	seed := sha256.Sum256([]byte("station key " + code))
	k, err := seal.PrivateKeyFromSeed(seed[:])
	if err != nil {
		panic(err)
	}
	return k
}

// stationKeys enrolls every station's key.
func stationKeys(tb testing.TB, def *election.Definition) *publish.StationKeys {
	tb.Helper()
	keys := publish.NewStationKeys()
	for _, st := range def.Stations {
		require.NoError(tb, keys.Add(st.Code, stationKey(st.Code).Public()))
	}
	return keys
}

func publicationKey() *seal.PrivateKey { return electiontest.Key(electiontest.PublicationSeed) }

var receivedAt = time.Date(2026, 12, 20, 19, 30, 0, 0, time.UTC)

// form is what a station's form of a version says: the demo generator's
// numbers, a different set for each seed.
func form(tb testing.TB, def *election.Definition, st *election.Station, ref election.FormRef, seed uint64) *election.Form {
	tb.Helper()
	l, err := def.Layout(ref.Contest, ref.Form)
	require.NoError(tb, err)
	f := election.DemoForm(def, l, st, seed)
	photo := sha256.Sum256([]byte(fmt.Sprintf("photo %s %s %s %d", st.Code, ref.Contest, ref.Form, seed)))
	f.PhotoSHA256 = hex.EncodeToString(photo[:])
	return f
}

// sealForm seals a version of a form as the station does and reads it
// back as the server would give it.
func sealForm(tb testing.TB, def *election.Definition, f *election.Form, version int, supersedes string, review publish.Review) publish.Accepted {
	tb.Helper()
	sub := election.Submission{Format: election.SubmissionFormat, Form: *f, Version: version, Supersedes: supersedes,
		SealedAt: receivedAt.Add(-time.Duration(version) * time.Minute), Sequence: uint64(version)}
	payload, err := json.Marshal(sub)
	require.NoError(tb, err)
	raw, err := seal.Sign(election.SubmissionPayloadType, payload, stationKey(f.Station))
	require.NoError(tb, err)
	a, err := publish.ParseAccepted(def, raw, receivedAt.Add(time.Duration(version)*time.Second), review)
	require.NoError(tb, err)
	return a
}

// everyForm is version 1 of every form of every station, received.
func everyForm(tb testing.TB, def *election.Definition) []publish.Accepted {
	tb.Helper()
	var out []publish.Accepted
	for i := range def.Stations {
		st := &def.Stations[i]
		for _, ref := range st.Forms {
			out = append(out, sealForm(tb, def, form(tb, def, st, ref, 1), 1, "", publish.Received))
		}
	}
	return out
}

// everyFormOnce caches everyForm per election.
var everyFormOnce sync.Map // *election.Definition → []publish.Accepted

func allForms(tb testing.TB, def *election.Definition) []publish.Accepted {
	if v, ok := everyFormOnce.Load(def); ok {
		return append([]publish.Accepted(nil), v.([]publish.Accepted)...)
	}
	out := everyForm(tb, def)
	everyFormOnce.Store(def, out)
	return append([]publish.Accepted(nil), out...)
}

func contestResults(tb testing.TB, r *publish.Results, code string) *publish.ContestResults {
	tb.Helper()
	for i := range r.Contests {
		if r.Contests[i].Contest == code {
			return &r.Contests[i]
		}
	}
	tb.Fatalf("no results for contest %s", code)
	return nil
}

func tallyOf(tb testing.TB, ts []publish.Tally, code string) *publish.Tally {
	tb.Helper()
	for i := range ts {
		if ts[i].Code == code {
			return &ts[i]
		}
	}
	tb.Fatalf("no tally for %s", code)
	return nil
}
