package publish_test

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/publish"
	"tally/app/seal"
)

var createdAt = time.Date(2026, 12, 20, 20, 0, 0, 0, time.UTC)

// sealedSnapshot is snapshot 1 of every form of the small assembly
// election.
func sealedSnapshot(t *testing.T) (*election.Definition, []byte) {
	t.Helper()
	def := smallAssembly()
	s, err := publish.NewSnapshot(def, allForms(t, def), 1, "", createdAt)
	require.NoError(t, err)
	raw, err := publish.Seal(s, publicationKey())
	require.NoError(t, err)
	return def, raw
}

// payloadOf reads a sealed snapshot without checking it.
func payloadOf(t *testing.T, raw []byte) *publish.Snapshot {
	t.Helper()
	env, err := seal.Parse(raw, publish.MaxSnapshotSize)
	require.NoError(t, err)
	var s publish.Snapshot
	require.NoError(t, json.Unmarshal(env.Payload, &s))
	return &s
}

// reseal changes a snapshot and signs it again with the publication key:
// what a faulty or dishonest aggregator could publish.
func reseal(t *testing.T, raw []byte, change func(*publish.Snapshot)) []byte {
	t.Helper()
	s := payloadOf(t, raw)
	change(s)
	out, err := publish.Seal(s, publicationKey())
	require.NoError(t, err)
	return out
}

func TestSealOpen(t *testing.T) {
	def, raw := sealedSnapshot(t)
	keys := stationKeys(t, def)
	pub := publicationKey().Public()

	t.Run("OK", func(t *testing.T) {
		s, err := publish.Open(raw, pub, def, keys)
		require.NoError(t, err)
		assert.Equal(t, uint64(1), s.Number)
		assert.Empty(t, s.PreviousDigest)
		assert.Equal(t, def.Election.ID, s.Election)
		assert.Len(t, s.Stations, len(allForms(t, def)))
		want, err := publish.Aggregate(def, allForms(t, def))
		require.NoError(t, err)
		assert.Equal(t, want, s.Results)
		first := s.Stations[0]
		assert.Equal(t, def.Stations[0].Code, first.Station)
		assert.Equal(t, seal.Digest(first.Envelope), first.Digest)
		assert.Len(t, first.PhotoSHA256, 64)
	})

	t.Run("OKDeterministic", func(t *testing.T) {
		forms := allForms(t, def)
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(forms), func(i, j int) { forms[i], forms[j] = forms[j], forms[i] })
		s, err := publish.NewSnapshot(def, forms, 1, "", createdAt)
		require.NoError(t, err)
		again, err := publish.Seal(s, publicationKey())
		require.NoError(t, err)
		assert.Equal(t, raw, again, "the same forms in another order seal to the same bytes")
	})

	t.Run("OKReturnedLeftOut", func(t *testing.T) {
		forms := allForms(t, def)
		forms[0].Review = publish.Returned
		forms[1].Review = publish.Approved
		s, err := publish.NewSnapshot(def, forms, 1, "", createdAt)
		require.NoError(t, err)
		assert.Len(t, s.Stations, len(forms)-1)
		assert.NotEqual(t, forms[0].Digest, s.Stations[0].Digest)
		assert.Equal(t, publish.Approved, s.Stations[0].Review)
		sealed, err := publish.Seal(s, publicationKey())
		require.NoError(t, err)
		_, err = publish.Open(sealed, pub, def, keys)
		require.NoError(t, err)
	})

	st0 := def.Stations[0].Code
	m0 := def.Municipalities[0].Code
	for name, tc := range map[string]struct {
		change func(*publish.Snapshot)
		want   string
	}{
		"ErrStationNumber": {func(s *publish.Snapshot) { s.Results.Contests[0].Stations[0].Valid++ },
			"station " + st0 + ": valid is"},
		"ErrStationVotes": {func(s *publish.Snapshot) { s.Results.Contests[0].Stations[0].Votes[1]++ },
			"station " + st0 + ": votes for entity"},
		"ErrCentre": {func(s *publish.Snapshot) { s.Results.Contests[0].Centres[3].Voted-- },
			"voting centre " + def.VotingCentres[3].Code + ": voted is"},
		"ErrMunicipality": {func(s *publish.Snapshot) { s.Results.Contests[0].Municipalities[0].Votes[2] += 100 },
			"municipality " + m0 + ": votes for entity"},
		"ErrNational": {func(s *publish.Snapshot) { s.Results.Contests[0].National.Invalid++ },
			"national: invalid is"},
		"ErrShare": {func(s *publish.Snapshot) { s.Results.Contests[0].National.SharesBP[0]++ },
			"national: the share of entity"},
		"ErrTurnout": {func(s *publish.Snapshot) { s.Results.Contests[0].Municipalities[1].TurnoutBP-- },
			"turnout is"},
		"ErrReported": {func(s *publish.Snapshot) { s.Results.Contests[0].National.Reported-- },
			"national: reported is"},
		"ErrPreferences": {func(s *publish.Snapshot) {
			s.Results.Contests[0].Preferences.Municipalities[0].Entities[0].Candidates[0]++
		},
			"municipality " + m0 + ": preference votes for candidate 1"},
		"ErrEntryCounts": {func(s *publish.Snapshot) { s.Stations[0].Counts["B"]++ },
			"stations[0] (station " + st0 + ", contest ASM, results form): B is"},
		"ErrEntryVersion": {func(s *publish.Snapshot) { s.Stations[0].Version = 2 }, "version is 2, the envelope says 1"},
		"ErrEntryPhoto":   {func(s *publish.Snapshot) { s.Stations[0].PhotoSHA256 = "" }, "photo hash"},
		"ErrEntryDigest":  {func(s *publish.Snapshot) { s.Stations[1].Digest = s.Stations[0].Digest }, "digest"},
		"ErrEnvelopeTampered": {func(s *publish.Snapshot) {
			env, err := seal.Parse(s.Stations[0].Envelope, 1<<20)
			require.NoError(t, err)
			env.Payload[len(env.Payload)/2] ^= 1
			s.Stations[0].Envelope, err = json.Marshal(env)
			require.NoError(t, err)
		}, "does not verify"},
		"ErrEnvelopeOtherStation": {func(s *publish.Snapshot) {
			s.Stations[0].Envelope, s.Stations[1].Envelope = s.Stations[1].Envelope, s.Stations[0].Envelope
		}, "no signature by a trusted key"},
		"ErrMissingStation": {func(s *publish.Snapshot) { s.Stations = s.Stations[1:] },
			"station " + st0 + ": counted as reported, but the snapshot holds no envelope"},
		"ErrStationLeftOutOfResults": {func(s *publish.Snapshot) {
			s.Results.Contests[0].Stations = s.Results.Contests[0].Stations[1:]
		}, "station " + st0 + " is missing"},
		"ErrFormTwice": {func(s *publish.Snapshot) { s.Stations = append(s.Stations, s.Stations[0]) }, "there twice"},
		"ErrReview":    {func(s *publish.Snapshot) { s.Stations[0].Review = publish.Returned }, "review"},
		"ErrElection":  {func(s *publish.Snapshot) { s.Election = "other" }, "election"},
		"ErrChain":     {func(s *publish.Snapshot) { s.PreviousDigest = "abc" }, "only the first"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := publish.Open(reseal(t, raw, tc.change), pub, def, keys)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}

	t.Run("ErrSignature", func(t *testing.T) {
		env, err := seal.Parse(raw, publish.MaxSnapshotSize)
		require.NoError(t, err)
		env.Signatures[0].Sig[0] ^= 1
		bad, err := json.Marshal(env)
		require.NoError(t, err)
		_, err = publish.Open(bad, pub, def, keys)
		assert.True(t, errors.Is(err, seal.ErrBadSignature), "%v", err)
	})

	t.Run("ErrPayloadTampered", func(t *testing.T) {
		env, err := seal.Parse(raw, publish.MaxSnapshotSize)
		require.NoError(t, err)
		env.Payload = []byte(string(env.Payload[:len(env.Payload)-1]) + " }")
		bad, err := json.Marshal(env)
		require.NoError(t, err)
		_, err = publish.Open(bad, pub, def, keys)
		assert.True(t, errors.Is(err, seal.ErrBadSignature), "%v", err)
	})

	t.Run("ErrOtherKey", func(t *testing.T) {
		_, err := publish.Open(raw, stationKey("x").Public(), def, keys)
		assert.True(t, errors.Is(err, seal.ErrUntrusted), "%v", err)
	})

	t.Run("ErrNoStationKey", func(t *testing.T) {
		_, err := publish.Open(raw, pub, def, publish.NewStationKeys())
		assert.ErrorContains(t, err, "no key is enrolled for the station")
	})

	t.Run("ErrNumber", func(t *testing.T) {
		_, err := publish.NewSnapshot(def, nil, 0, "", createdAt)
		assert.Error(t, err)
		_, err = publish.NewSnapshot(def, nil, 2, "", createdAt)
		assert.Error(t, err)
	})
}

// TestEncodeWithCache holds the publisher's encoding, which reuses the JSON
// of the forms counted before, to json.Marshal's bytes, snapshot after
// snapshot as forms arrive and reviews change; and the stripped payload
// the archive keeps to json.Marshal's bytes of the snapshot with every
// envelope nil.
func TestEncodeWithCache(t *testing.T) {
	def := smallMunicipal()
	forms := allForms(t, def)
	encode := publish.EncodeSnapshotWith()
	steps := [][]publish.Accepted{forms[:0], forms[:10], forms[:20], forms}
	approved := append([]publish.Accepted(nil), forms...)
	approved[3].Review = publish.Approved
	approved[5].Review = publish.Returned
	steps = append(steps, approved, forms[5:])
	for i, accepted := range steps {
		s, err := publish.NewSnapshot(def, accepted, uint64(i+1), map[bool]string{true: "", false: strings.Repeat("a", 64)}[i == 0], createdAt)
		require.NoError(t, err)
		want, err := json.Marshal(s)
		require.NoError(t, err)
		got, gotStripped, err := encode(s)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "step %d", i)
		bare := *s
		bare.Stations = make([]publish.StationEntry, len(s.Stations))
		copy(bare.Stations, s.Stations)
		for j := range bare.Stations {
			bare.Stations[j].Envelope = nil
		}
		wantStripped, err := json.Marshal(&bare)
		require.NoError(t, err)
		require.Equal(t, string(wantStripped), string(gotStripped), "step %d", i)
		if len(s.Stations) > 0 {
			require.NotEqual(t, string(got), string(gotStripped), "step %d", i)
		}
	}
}
