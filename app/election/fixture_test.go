package election_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/seal"
)

// The test election: small enough to reason about, built by code and
// loaded through election.Load so that it is checked and indexed like a
// real definition.
//
//	municipalities  01, 02
//	voting centres  01001 (in 01), 02001 (in 02)
//	stations        01001A (600 voters), 01001B (480), 02001A (712),
//	                01CC, the counting centre of 01
//	contest         ASM, up to 10 preferences; entities 1 (3 candidates),
//	                2 (2 candidates), 3 (an independent candidate)
const (
	testElectionID = "test-assembly-2026"
	stationCode    = "01001A" // the station of the clean results form
	countingCode   = "01CC"   // the counting centre of the clean candidates form
	contestCode    = "ASM"
	registered     = 600 // voters on the list of stationCode
)

// fixedKey returns the key made from a seed of 32 bytes n.
func fixedKey(n byte) *seal.PrivateKey {
	k, err := seal.PrivateKeyFromSeed(bytes.Repeat([]byte{n}, 32))
	if err != nil {
		panic(err)
	}
	return k
}

// commissionKeys are the commission's public keys, from fixed seeds.
func commissionKeys() election.Keys {
	return election.Keys{
		Definition:  seal.EncodePublicKey(fixedKey(1).Public()),
		Receipt:     seal.EncodePublicKey(fixedKey(2).Public()),
		Publication: seal.EncodePublicKey(fixedKey(3).Public()),
	}
}

// inEveryLanguage gives a name in every language of the demo catalogs.
func inEveryLanguage(sq, srLatn, srCyrl, en, tr string) election.Names {
	return election.Names{"sq": sq, "sr-Latn": srLatn, "sr-Cyrl": srCyrl, "en": en, "tr": tr}
}

func testDefinitionSource() election.Definition {
	asm := []election.FormRef{{Contest: contestCode, Form: election.ResultsForm}}
	return election.Definition{
		Format: election.Format,
		Election: election.Election{
			ID:   testElectionID,
			Kind: election.Assembly,
			Name: inEveryLanguage("Zgjedhjet provë", "Probni izbori", "Пробни избори", "Test election", "Deneme seçimi"),
			Date: "2026-12-20", Languages: election.DemoLanguages,
			Keys:    commissionKeys(),
			Servers: []election.Server{{URL: "http://127.0.0.1:8480"}},
		},
		Municipalities: []election.Municipality{
			{Code: "01", Name: inEveryLanguage("Prishtinë", "Priština", "Приштина", "Prishtina", "Priştine")},
			{Code: "02", Name: inEveryLanguage("Prizren", "Prizren", "Призрен", "Prizren", "Prizren")},
		},
		VotingCentres: []election.VotingCentre{
			{Code: "01001", Municipality: "01", Name: "Shkolla „Naim Frashëri”, Prishtinë"},
			{Code: "02001", Municipality: "02", Name: "Shkolla „Lidhja e Prizrenit”, Prizren"},
		},
		Stations: []election.Station{
			{Code: stationCode, Kind: election.Polling, Municipality: "01", Centre: "01001",
				Name: "Shkolla „Naim Frashëri” – A", Registered: registered, Forms: asm},
			{Code: "01001B", Kind: election.Polling, Municipality: "01", Centre: "01001",
				Name: "Shkolla „Naim Frashëri” – B", Registered: 480, Forms: asm},
			{Code: "02001A", Kind: election.Polling, Municipality: "02", Centre: "02001",
				Name: "Shkolla „Lidhja e Prizrenit” – A", Registered: 712, Forms: asm},
			{Code: countingCode, Kind: election.Counting, Municipality: "01",
				Name:  "Qendra Komunale e Numërimit – Prishtinë",
				Forms: []election.FormRef{{Contest: contestCode, Form: election.CandidatesForm}}},
		},
		Contests: []election.Contest{{
			Code: contestCode, Kind: election.ContestAssembly, Seats: 120, MaxPreferences: 10,
			Name: inEveryLanguage("Kuvendi i Kosovës", "Skupština Kosova", "Скупштина Косова", "Assembly of Kosovo", "Kosova Meclisi"),
			Entities: []election.Entity{
				{Number: 1, Kind: election.Party, Name: "Partia e Shembullit", Candidates: []election.Candidate{
					{Number: 1, Name: "Arbër Gashi"}, {Number: 2, Name: "Vjosa Hoxha"}, {Number: 3, Name: "Dritan Morina"},
				}},
				{Number: 2, Kind: election.Coalition, Name: "Koalicioni Shembull", Candidates: []election.Candidate{
					{Number: 1, Name: "Milica Jovanović"}, {Number: 2, Name: "Besnik Krasniqi"},
				}},
				{Number: 3, Kind: election.Independent, Name: "Zoë Rexhepi", Candidates: []election.Candidate{
					{Number: 1, Name: "Zoë Rexhepi"},
				}},
			},
		}},
	}
}

var loadTestDefinition = sync.OnceValues(func() (*election.Definition, error) {
	src := testDefinitionSource()
	raw, err := json.Marshal(&src)
	if err != nil {
		return nil, err
	}
	return election.Load(raw)
})

// testDefinition returns the loaded test election. It is shared: tests
// must not change it.
func testDefinition(tb testing.TB) *election.Definition {
	tb.Helper()
	d, err := loadTestDefinition()
	require.NoError(tb, err, "the test definition must load")
	return d
}

// layoutOf returns the layout of a form of the test contest.
func layoutOf(tb testing.TB, form election.FormKind) *election.Layout {
	tb.Helper()
	l, err := testDefinition(tb).Layout(contestCode, form)
	require.NoError(tb, err)
	return l
}

// stationOf returns a station of the test election.
func stationOf(tb testing.TB, code string) *election.Station {
	tb.Helper()
	s, ok := testDefinition(tb).Station(code)
	require.True(tb, ok, "station %s", code)
	return s
}

// photoHash is the SHA-256 of a stand-in for the photo of a paper form.
func photoHash(station string) string {
	sum := sha256.Sum256([]byte("photo of the signed paper form of " + station))
	return hex.EncodeToString(sum[:])
}

// cleanResultsForm returns a new results form of the 600-voter station on
// which no rule fires:
//
//	C = F + D + E   650 = 400 + 240 + 10
//	F = G + H       400 = 8 + 392
//	H = Σ I.n       392 = 210 + 140 + 42
//	B = F, B ≤ A, A = the station's registered voters
//	G/F = 2% < 3%, E/C ≈ 1.5% < 3%, turnout B/A ≈ 66.7% within 5%–95%
func cleanResultsForm() *election.Form {
	return &election.Form{
		Election: testElectionID,
		Station:  stationCode,
		Contest:  contestCode,
		Kind:     election.ResultsForm,
		Counts: map[election.Field]int{
			"A": registered, "B": 400, "C": 650, "D": 240, "E": 10, "F": 400, "G": 8, "H": 392,
			"I.1": 210, "I.2": 140, "I.3": 42,
		},
		Members:     5,
		Remarks:     "Numërimi përfundoi në 21:40.",
		PhotoSHA256: photoHash(stationCode),
		EnteredBy:   "Arta Berisha",
		ReenteredBy: "Driton Shala",
	}
}

// cleanCandidatesForm returns a new candidates form of the counting centre
// on which no rule fires: every candidate has at most the votes of the
// entity, every entity's preference votes are at most 10 × its votes, and
// every entity with votes has some preference votes.
func cleanCandidatesForm() *election.Form {
	return &election.Form{
		Election: testElectionID,
		Station:  countingCode,
		Contest:  contestCode,
		Kind:     election.CandidatesForm,
		Counts: map[election.Field]int{
			"I.1": 1200, "K.1.1": 900, "K.1.2": 610, "K.1.3": 455,
			"I.2": 800, "K.2.1": 530, "K.2.2": 390,
			"I.3": 95, "K.3.1": 95,
		},
		Members:     7,
		PhotoSHA256: photoHash(countingCode),
		EnteredBy:   "Milica Petrović",
		ReenteredBy: "Ilir Hoxha",
	}
}

// sealedAt is when the test submissions were sealed.
var sealedAt = time.Date(2026, 12, 20, 21, 42, 7, 0, time.FixedZone("CET", 3600))

// cleanSubmission returns version 1 of the clean results form.
func cleanSubmission() *election.Submission {
	return &election.Submission{
		Format:   election.SubmissionFormat,
		Form:     *cleanResultsForm(),
		Version:  1,
		SealedAt: sealedAt,
		Sequence: 1,
	}
}

// mustJSON marshals v, failing the test if it cannot.
func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	raw, err := json.Marshal(v)
	require.NoError(tb, err)
	return raw
}

// payloadWith returns the clean submission as JSON after edit changed its
// generic form, for payloads that a Submission cannot express.
func payloadWith(tb testing.TB, edit func(m map[string]any)) []byte {
	tb.Helper()
	var m map[string]any
	require.NoError(tb, json.Unmarshal(mustJSON(tb, cleanSubmission()), &m))
	edit(m)
	return mustJSON(tb, m)
}

// formOf returns the "form" object of a generic submission.
func formOf(m map[string]any) map[string]any { return m["form"].(map[string]any) }

// countsOf returns the "counts" object of a generic submission.
func countsOf(m map[string]any) map[string]any { return formOf(m)["counts"].(map[string]any) }

// codes lists the codes of findings, in order.
func codes(findings []election.Finding) []string {
	out := make([]string, len(findings))
	for i, f := range findings {
		out[i] = f.Code
	}
	return out
}

// describe prints findings for a failure message.
func describe(findings []election.Finding) string {
	var b bytes.Buffer
	for _, f := range findings {
		fmt.Fprintf(&b, "\n  %s %v %v", f.Code, f.Fields, f.Args)
	}
	return b.String()
}
