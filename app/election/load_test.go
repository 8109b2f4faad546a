package election_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/seal"
)

// demoKeys are the commission's keys of the tests, from fixed seeds.
func demoKeys(t testing.TB) (election.Keys, map[string]*seal.PrivateKey) {
	t.Helper()
	priv := map[string]*seal.PrivateKey{}
	for i, name := range []string{"definition", "receipt", "publication"} {
		k, err := seal.PrivateKeyFromSeed(bytes.Repeat([]byte{byte(i + 1)}, 32))
		require.NoError(t, err)
		priv[name] = k
	}
	return election.Keys{
		Definition:  seal.EncodePublicKey(priv["definition"].Public()),
		Receipt:     seal.EncodePublicKey(priv["receipt"].Public()),
		Publication: seal.EncodePublicKey(priv["publication"].Public()),
	}, priv
}

func demo(t testing.TB, kind election.Kind, seed uint64) *election.Definition {
	t.Helper()
	keys, _ := demoKeys(t)
	d, err := election.Demo(election.DemoOptions{Seed: seed, Kind: kind, Keys: keys})
	require.NoError(t, err)
	return d
}

// roundTrip encodes a definition and decodes it into a fresh value, so a
// test can change it without touching the original.
func roundTrip(t testing.TB, d *election.Definition) *election.Definition {
	t.Helper()
	raw, err := json.Marshal(d)
	require.NoError(t, err)
	var out election.Definition
	require.NoError(t, json.Unmarshal(raw, &out))
	return &out
}

func problemsOf(t *testing.T, err error) election.Problems {
	t.Helper()
	var ps election.Problems
	require.True(t, errors.As(err, &ps), "want Problems, got %v", err)
	return ps
}

func TestLoad(t *testing.T) {
	base := demo(t, election.Assembly, 1)

	t.Run("OK", func(t *testing.T) {
		raw, err := json.Marshal(base)
		require.NoError(t, err)
		d, err := election.Load(raw)
		require.NoError(t, err)
		assert.Equal(t, base.Totals(), d.Totals())
		s, ok := d.Station(base.Stations[0].Code)
		require.True(t, ok)
		assert.Equal(t, base.Stations[0].Registered, s.Registered)
		_, err = d.Layout("ASM", election.ResultsForm)
		assert.NoError(t, err)
	})

	for _, tc := range []struct {
		name   string
		change func(d *election.Definition)
		path   string
		code   string
	}{
		{"ErrFormat", func(d *election.Definition) { d.Format = "v0" }, "$.format", election.ProblemInvalid},
		{"ErrElectionID", func(d *election.Definition) { d.Election.ID = "Has Spaces" }, "$.election.id", election.ProblemInvalid},
		{"ErrElectionIDMissing", func(d *election.Definition) { d.Election.ID = "" }, "$.election.id", election.ProblemRequired},
		{"ErrKind", func(d *election.Definition) { d.Election.Kind = "presidential" }, "$.election.kind", election.ProblemInvalid},
		{"ErrDate", func(d *election.Definition) { d.Election.Date = "20.12.2026" }, "$.election.date", election.ProblemInvalid},
		{"ErrNameLanguage", func(d *election.Definition) { delete(d.Election.Name, "tr") }, "$.election.name", election.ProblemMissingLanguage},
		{"ErrNameExtraLanguage", func(d *election.Definition) { d.Election.Name["de"] = "Wahl" }, "$.election.name.de", election.ProblemInvalid},
		{"ErrNameNotNFC", func(d *election.Definition) { d.Election.Name["sq"] = "Zgjedhje\u0308" }, "$.election.name.sq", election.ProblemInvalid},
		{"ErrNameControl", func(d *election.Definition) { d.Election.Name["en"] = "Vote\x07" }, "$.election.name.en", election.ProblemInvalid},
		{"ErrLanguageDuplicate", func(d *election.Definition) { d.Election.Languages = append(d.Election.Languages, "sq") }, "$.election.languages[5]", election.ProblemDuplicate},
		{"ErrKeyMissing", func(d *election.Definition) { d.Election.Keys.Receipt = "" }, "$.election.keys.receipt", election.ProblemRequired},
		{"ErrKeyMalformed", func(d *election.Definition) { d.Election.Keys.Receipt = "ed25519:AAAA" }, "$.election.keys.receipt", election.ProblemInvalid},
		{"ErrKeyReused", func(d *election.Definition) { d.Election.Keys.Receipt = d.Election.Keys.Definition }, "$.election.keys.receipt", election.ProblemDuplicate},
		{"ErrServersMissing", func(d *election.Definition) { d.Election.Servers = nil }, "$.election.servers", election.ProblemRequired},
		{"ErrPlainHTTPRemote", func(d *election.Definition) { d.Election.Servers[0].URL = "http://kqz.example:8480" }, "$.election.servers[0].url", election.ProblemInvalid},
		{"ErrHTTPSWithoutBackupPin", func(d *election.Definition) {
			d.Election.Servers[0] = election.Server{URL: "https://kqz.example", Pins: []string{"sha256/" + strings.Repeat("A", 43) + "="}}
		}, "$.election.servers[0].pins", election.ProblemOutOfRange},
		{"ErrPinMalformed", func(d *election.Definition) {
			d.Election.Servers[0] = election.Server{URL: "https://kqz.example", Pins: []string{"sha256/abc", "sha256/" + strings.Repeat("A", 43) + "="}}
		}, "$.election.servers[0].pins[0]", election.ProblemInvalid},
		{"ErrOutOfCountry", func(d *election.Definition) { d.Election.OutOfCountryVoters = -1 }, "$.election.out_of_country_voters", election.ProblemOutOfRange},
		{"ErrMunicipalityCodeDuplicate", func(d *election.Definition) { d.Municipalities[1].Code = d.Municipalities[0].Code }, "$.municipalities[1].code", election.ProblemDuplicate},
		{"ErrMunicipalityCode", func(d *election.Definition) { d.Municipalities[3].Code = "a/../b" }, "$.municipalities[3].code", election.ProblemInvalid},
		{"ErrMunicipalityNameLanguage", func(d *election.Definition) { d.Municipalities[2].Name["sr-Cyrl"] = " " }, "$.municipalities[2].name", election.ProblemMissingLanguage},
		{"ErrCentreMunicipality", func(d *election.Definition) { d.VotingCentres[4].Municipality = "99" }, "$.voting_centres[4].municipality", election.ProblemUnresolved},
		{"ErrCentreName", func(d *election.Definition) { d.VotingCentres[4].Name = "" }, "$.voting_centres[4].name", election.ProblemRequired},
		{"ErrCentreNameTooLong", func(d *election.Definition) { d.VotingCentres[4].Name = strings.Repeat("ë", election.MaxNameLength+1) }, "$.voting_centres[4].name", election.ProblemTooLong},
		{"ErrStationDuplicate", func(d *election.Definition) { d.Stations[7].Code = d.Stations[6].Code }, "$.stations[7].code", election.ProblemDuplicate},
		{"ErrStationRegisteredHigh", func(d *election.Definition) { d.Stations[7].Registered = 751 }, "$.stations[7].registered", election.ProblemOutOfRange},
		{"ErrStationRegisteredNegative", func(d *election.Definition) { d.Stations[7].Registered = -1 }, "$.stations[7].registered", election.ProblemOutOfRange},
		{"ErrStationCentre", func(d *election.Definition) { d.Stations[7].Centre = "99999" }, "$.stations[7].centre", election.ProblemUnresolved},
		{"ErrStationMunicipality", func(d *election.Definition) { d.Stations[0].Municipality = d.Municipalities[5].Code }, "$.stations[0].municipality", election.ProblemInvalid},
		{"ErrStationKind", func(d *election.Definition) { d.Stations[7].Kind = "mobile" }, "$.stations[7].kind", election.ProblemInvalid},
		{"ErrStationFormContest", func(d *election.Definition) { d.Stations[7].Forms[0].Contest = "XYZ" }, "$.stations[7].forms[0].contest", election.ProblemUnresolved},
		{"ErrStationFormKind", func(d *election.Definition) { d.Stations[7].Forms[0].Form = election.CandidatesForm }, "$.stations[7].forms[0].form", election.ProblemInvalid},
		{"ErrStationFormMissing", func(d *election.Definition) { d.Stations[7].Forms = nil }, "$.stations[7].forms", election.ProblemRequired},
		{"ErrStationFormDuplicate", func(d *election.Definition) {
			d.Stations[7].Forms = append(d.Stations[7].Forms, d.Stations[7].Forms[0])
		}, "$.stations[7].forms[1]", election.ProblemDuplicate},
		{"ErrCountingCentreVoters", func(d *election.Definition) { counting(d).Registered = 10 }, "", election.ProblemOutOfRange},
		{"ErrContestKind", func(d *election.Definition) { d.Contests[0].Kind = election.ContestMayor }, "$.contests[0].kind", election.ProblemInvalid},
		{"ErrContestPreferences", func(d *election.Definition) { d.Contests[0].MaxPreferences = 0 }, "$.contests[0].max_preferences", election.ProblemOutOfRange},
		{"ErrContestNoEntities", func(d *election.Definition) { d.Contests[0].Entities = nil }, "$.contests[0].entities", election.ProblemRequired},
		{"ErrEntityNumberDuplicate", func(d *election.Definition) { d.Contests[0].Entities[1].Number = d.Contests[0].Entities[0].Number }, "$.contests[0].entities[1].number", election.ProblemDuplicate},
		{"ErrEntityNumberRange", func(d *election.Definition) { d.Contests[0].Entities[1].Number = 0 }, "$.contests[0].entities[1].number", election.ProblemOutOfRange},
		{"ErrEntityKind", func(d *election.Definition) { d.Contests[0].Entities[1].Kind = election.MayoralCandidate }, "$.contests[0].entities[1].kind", election.ProblemInvalid},
		{"ErrEntityNoCandidates", func(d *election.Definition) { d.Contests[0].Entities[1].Candidates = nil }, "$.contests[0].entities[1].candidates", election.ProblemRequired},
		{"ErrCandidateName", func(d *election.Definition) { d.Contests[0].Entities[1].Candidates[0].Name = "" }, "$.contests[0].entities[1].candidates[0].name", election.ProblemRequired},
		{"ErrCandidateNumberDuplicate", func(d *election.Definition) {
			d.Contests[0].Entities[0].Candidates[2].Number = d.Contests[0].Entities[0].Candidates[1].Number
		}, "$.contests[0].entities[0].candidates[2].number", election.ProblemDuplicate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := roundTrip(t, base)
			tc.change(d)
			raw, err := json.Marshal(d)
			require.NoError(t, err)
			got, err := election.Load(raw)
			assert.Nil(t, got, "nothing half loaded")
			ps := problemsOf(t, err)
			found := false
			for _, p := range ps {
				if (tc.path == "" || p.Path == tc.path) && p.Code == tc.code {
					found = true
				}
				assert.NotEmpty(t, p.Error())
			}
			assert.True(t, found, "want %s at %s, got %v", tc.code, tc.path, ps)
			assert.Contains(t, err.Error(), tc.path)
		})
	}

	t.Run("ErrEveryProblemReported", func(t *testing.T) {
		d := roundTrip(t, base)
		d.Stations[3].Registered = 900
		d.Stations[9].Centre = "nowhere"
		d.Municipalities[0].Name["en"] = ""
		raw, err := json.Marshal(d)
		require.NoError(t, err)
		_, err = election.Load(raw)
		paths := map[string]bool{}
		for _, p := range problemsOf(t, err) {
			paths[p.Path] = true
		}
		assert.True(t, paths["$.stations[3].registered"])
		assert.True(t, paths["$.stations[9].centre"])
		assert.True(t, paths["$.municipalities[0].name"])
	})
}

func counting(d *election.Definition) *election.Station {
	for i := range d.Stations {
		if d.Stations[i].Kind == election.Counting {
			return &d.Stations[i]
		}
	}
	return nil
}

func TestLoadMalformed(t *testing.T) {
	base, err := json.Marshal(demo(t, election.Assembly, 1))
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		raw  []byte
		path string
		code string
	}{
		{"ErrEmpty", nil, "$", election.ProblemMalformed},
		{"ErrTruncated", base[:len(base)/2], "", election.ProblemMalformed},
		{"ErrNotObject", []byte(`[1,2,3]`), "$", election.ProblemInvalid},
		{"ErrTrailingData", append(append([]byte{}, base...), []byte(` {}`)...), "$", election.ProblemMalformed},
		{"ErrSyntax", []byte(`{"format": "tally.election/v1",}`), "$.format", election.ProblemMalformed},
		{"ErrDuplicateKey", []byte(`{"format":"a","election":{"id":"x","id":"y"}}`), "$.election.id", election.ProblemDuplicate},
		{"ErrDuplicateKeyOtherCase", []byte(`{"format":"a","Format":"b"}`), "$.Format", election.ProblemDuplicate},
		{"ErrDuplicateKeyLongS", []byte(`{"stations":[],"ſtations":[]}`), "$.ſtations", election.ProblemDuplicate},
		{"ErrDuplicateKeyInArray", []byte(`{"stations":[{},{"code":"A","code":"B"}]}`), "$.stations[1].code", election.ProblemDuplicate},
		{"ErrUnknownField", []byte(`{"format":"tally.election/v1","extra":1}`), "$", election.ProblemInvalid},
		{"ErrWrongType", []byte(`{"stations":[{"registered":"many"}]}`), "$.stations.registered", election.ProblemInvalid},
		{"ErrTooDeep", []byte(strings.Repeat("[", 40) + strings.Repeat("]", 40)), "", election.ProblemMalformed},
		{"ErrTooLarge", make([]byte, election.MaxDefinitionSize+1), "$", election.ProblemTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := election.Load(tc.raw)
			assert.Nil(t, d)
			ps := problemsOf(t, err)
			require.Len(t, ps, 1)
			assert.Equal(t, tc.code, ps[0].Code, ps.Error())
			if tc.path != "" {
				assert.Equal(t, tc.path, ps[0].Path, ps.Error())
			}
		})
	}
}

func FuzzLoad(f *testing.F) {
	keys, _ := demoKeys(f)
	d, err := election.Demo(election.DemoOptions{Seed: 1, Kind: election.Municipal, Keys: keys})
	if err != nil {
		f.Fatal(err)
	}
	// A small but valid document: the first municipality's stations only.
	small := *d
	small.Stations = nil
	for _, s := range d.Stations {
		if s.Municipality == d.Municipalities[0].Code {
			small.Stations = append(small.Stations, s)
		}
	}
	raw, err := json.Marshal(&small)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := election.Load(raw); err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add(raw[:len(raw)/3])
	f.Add([]byte(`{"format":"tally.election/v1","election":{"id":"x","id":"y"}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := election.Load(raw)
		if err != nil {
			if d != nil {
				t.Fatal("a refused definition was returned")
			}
			var ps election.Problems
			if !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("refusal without problems: %v", err)
			}
			return
		}
		again, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := election.Load(again); err != nil {
			t.Fatalf("a loaded definition does not load again: %v", err)
		}
	})
}
