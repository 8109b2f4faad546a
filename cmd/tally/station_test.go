package main

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/seal"
	"tally/app/station"
)

func TestMain(m *testing.M) {
	if os.Getenv(asMain) == "1" {
		main() // the end-to-end test's app, in a real window
	}
	// The least Argon2id work the vault accepts: the tests unlock often.
	stationOptions.KDF = seal.KDFParams{Time: 1, MemoryKiB: 8, Threads: 1}
	os.Exit(m.Run())
}

// Names and PINs of the demo station's commission.
const (
	chair    = "Arta Krasniqi"
	second   = "Besnik Gashi"
	goodPIN  = "lule-bore-47"
	wrongPIN = "lule-bore-48"
)

// demoElection is a signed demo election and what the tests need of it.
type demoElection struct {
	def         *election.Definition
	signed      []byte
	fingerprint string // of the definition key
	receiptKey  *seal.PrivateKey
	otherKey    *seal.PrivateKey
	station     *election.Station
	layout      *election.Layout
	key         station.FormKey
}

func seedKey(b byte) (*seal.PrivateKey, error) {
	return seal.PrivateKeyFromSeed(bytes.Repeat([]byte{b}, 32))
}

// loadDemo builds the demo election once for all the tests.
var loadDemo = sync.OnceValues(func() (*demoElection, error) {
	var keys [4]*seal.PrivateKey
	for i := range keys {
		k, err := seedKey(byte(i + 1))
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	def, err := election.Demo(election.DemoOptions{Seed: 9, Kind: election.Assembly, Keys: election.Keys{
		Definition:  seal.EncodePublicKey(keys[0].Public()),
		Receipt:     seal.EncodePublicKey(keys[1].Public()),
		Publication: seal.EncodePublicKey(keys[2].Public()),
	}})
	if err != nil {
		return nil, err
	}
	signed, err := election.Sign(def, keys[0])
	if err != nil {
		return nil, err
	}
	d := &demoElection{def: def, signed: signed, fingerprint: seal.Fingerprint(keys[0].ID()),
		receiptKey: keys[1], otherKey: keys[3]}
	for i := range def.Stations {
		if def.Stations[i].Kind == election.Polling {
			d.station = &def.Stations[i]
			break
		}
	}
	if d.station == nil {
		return nil, fmt.Errorf("the demo has no polling station")
	}
	d.key = station.FormKey{Contest: d.station.Forms[0].Contest, Form: election.ResultsForm}
	if d.layout, err = def.Layout(d.key.Contest, d.key.Form); err != nil {
		return nil, err
	}
	return d, nil
})

// fixture is one test's directory: the demo election and a database path.
type fixture struct {
	*demoElection
	t          *testing.T
	dir        string
	db         string
	definition string
	pinFile    string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	d, err := loadDemo()
	require.NoError(t, err)
	dir := t.TempDir()
	f := &fixture{demoElection: d, t: t, dir: dir, db: filepath.Join(dir, "state", "station.db"),
		definition: filepath.Join(dir, "election.json"), pinFile: filepath.Join(dir, "pin.txt")}
	require.NoError(t, os.WriteFile(f.definition, d.signed, 0o644))
	require.NoError(t, os.WriteFile(f.pinFile, []byte(goodPIN+"\n"), 0o600))
	return f
}

// on is the fixture for a subtest.
func (f *fixture) on(t *testing.T) *fixture {
	g := *f
	g.t = t
	return &g
}

type result struct {
	code        int
	out, errOut string
}

// tally runs the command with stdin and --db appended.
func (f *fixture) tally(stdin string, args ...string) result {
	f.t.Helper()
	var out, errOut bytes.Buffer
	code := run(append(args, "--db", f.db), strings.NewReader(stdin), &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// ok runs a command that must succeed.
func (f *fixture) ok(stdin string, args ...string) string {
	f.t.Helper()
	r := f.tally(stdin, args...)
	require.Equal(f.t, 0, r.code, "tally %v: %s", args, r.errOut)
	return r.out
}

// fails runs a command that must fail with exit status 1 and an error
// that says want.
func (f *fixture) fails(want string, stdin string, args ...string) {
	f.t.Helper()
	r := f.tally(stdin, args...)
	assert.Equal(f.t, 1, r.code, "tally %v: %s%s", args, r.out, r.errOut)
	assert.Contains(f.t, r.errOut, want, "tally %v", args)
}

func (f *fixture) provision() {
	f.t.Helper()
	f.ok("", "station", "init", "--definition", f.definition, "--fingerprint", f.fingerprint,
		"--station", f.station.Code, "--by", chair, "--pin-file", f.pinFile)
}

func (f *fixture) status() station.Status {
	f.t.Helper()
	var st station.Status
	require.NoError(f.t, json.Unmarshal([]byte(f.ok("", "station", "status", "--json")), &st))
	return st
}

// shown is the part of `station show --json` the tests read.
type shown struct {
	State       station.State          `json:"state"`
	Version     int                    `json:"version"`
	Values      map[election.Field]int `json:"values"`
	Photo       string                 `json:"photo"`
	Remarks     string                 `json:"remarks"`
	Differences []differenceJSON       `json:"differences"`
	Findings    []findingJSON          `json:"findings"`
	Unconfirmed []string               `json:"unconfirmed_errors"`
	Versions    []station.Version      `json:"versions"`
}

func (f *fixture) show() shown {
	f.t.Helper()
	var v shown
	require.NoError(f.t, json.Unmarshal([]byte(f.ok("", "station", "show", "--contest", f.key.Contest, "--json")), &v))
	return v
}

func (f *fixture) auditRecords() uint64 {
	f.t.Helper()
	var a auditResult
	require.NoError(f.t, json.Unmarshal([]byte(f.ok("", "audit", "verify", "--json")), &a))
	require.True(f.t, a.OK)
	return a.Records
}

// counts are valid numbers for the demo station's results form.
func (f *fixture) counts() map[string]int {
	a := f.station.Registered
	b := a * 6 / 10
	d, e, g := 40, 2, 5
	c := b + d + e
	h := b - g
	out := map[string]int{"A": a, "B": b, "C": c, "D": d, "E": e, "F": b, "G": g, "H": h}
	var entities []string
	for _, spec := range f.layout.Fields {
		if spec.Entity > 0 {
			entities = append(entities, string(spec.ID))
		}
	}
	rest := h
	for i, e := range entities[1:] {
		out[e] = i % 7
		rest -= i % 7
	}
	out[entities[0]] = rest
	return out
}

// writeFile writes a file of the test and returns its path.
func (f *fixture) writeFile(name string, data []byte) string {
	f.t.Helper()
	p := filepath.Join(f.dir, name)
	require.NoError(f.t, os.WriteFile(p, data, 0o600))
	return p
}

// countsFile writes a counts file.
func (f *fixture) countsFile(name string, counts map[string]int, members int, remarks string) string {
	f.t.Helper()
	doc := map[string]any{"counts": counts, "members_present": members}
	if remarks != "" {
		doc["remarks"] = remarks
	}
	raw, err := json.Marshal(doc)
	require.NoError(f.t, err)
	return f.writeFile(name, raw)
}

// pngPhoto is a small real PNG image.
func pngPhoto(t *testing.T) []byte {
	img := image.NewGray(image.Rect(0, 0, 4, 3))
	img.Set(1, 1, color.White)
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

// receipt signs a receipt for a sealed version with key.
func (f *fixture) receipt(key *seal.PrivateKey, version int, digest string, number uint64) string {
	f.t.Helper()
	payload, err := json.Marshal(election.Receipt{
		Format: election.ReceiptFormat, Election: f.def.Election.ID, Station: f.station.Code,
		Contest: f.key.Contest, Form: f.key.Form, Version: version, Submission: digest, Number: number,
		ReceivedAt: time.Date(2026, 12, 20, 19, 42, 7, 0, time.UTC),
	})
	require.NoError(f.t, err)
	env, err := seal.Sign(election.ReceiptPayloadType, payload, key)
	require.NoError(f.t, err)
	return f.writeFile(fmt.Sprintf("receipt-%d-%d-%s.json", version, number, key.ID()[:8]), env)
}

func TestStationFlow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	contest := f.key.Contest

	// Provisioning refuses a definition whose fingerprint is not the
	// printed one, and a weak PIN; neither leaves anything behind.
	f.fails("not signed by the key whose fingerprint was printed", "",
		"station", "init", "--definition", f.definition, "--fingerprint", seal.Fingerprint(f.otherKey.ID()),
		"--station", f.station.Code, "--by", chair, "--pin-file", f.pinFile)
	assert.NoFileExists(t, f.db)
	f.fails("not provisioned", "", "station", "status")
	f.fails("PIN too easy to guess", "123456\n",
		"station", "init", "--definition", f.definition, "--fingerprint", f.fingerprint,
		"--station", f.station.Code, "--by", chair)
	f.fails("not provisioned", "", "station", "status")
	f.fails(`station "nowhere" is not in election`, goodPIN+"\n",
		"station", "init", "--definition", f.definition, "--fingerprint", f.fingerprint,
		"--station", "nowhere", "--by", chair)
	assert.NoFileExists(t, f.db)

	// The PIN on standard input this time.
	var prov initResult
	require.NoError(t, json.Unmarshal([]byte(f.ok(goodPIN+"\n", "station", "init", "--definition", f.definition,
		"--fingerprint", strings.ToLower(f.fingerprint), "--station", f.station.Code, "--by", chair, "--json")), &prov))
	assert.Equal(t, f.station.Code, prov.Station)
	assert.Equal(t, f.def.Election.ID, prov.Election)
	pub, err := seal.ParsePublicKey(prov.StationKey)
	require.NoError(t, err)
	assert.Equal(t, seal.Fingerprint(pub.ID), prov.Fingerprint)
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(filepath.Dir(f.db))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	}
	// Provisioning again is refused, and the database stays.
	f.fails("already provisioned", "", "station", "init", "--definition", f.definition,
		"--fingerprint", f.fingerprint, "--station", f.station.Code, "--by", chair, "--pin-file", f.pinFile)
	st := f.status()
	assert.Equal(t, f.station.Code, st.Station)
	assert.Equal(t, prov.Fingerprint, st.Fingerprint)
	require.Len(t, st.Forms, 1)
	assert.Equal(t, station.StateEmpty, st.Forms[0].State)
	assert.Contains(t, f.ok("", "station", "status"), f.station.Code)

	// The first entry, with the photo of the paper form.
	counts := f.counts()
	first := f.countsFile("first.json", counts, 5, "Numërimi përfundoi në orën 23:10.")
	photo := pngPhoto(t)
	photoFile := f.writeFile("form.png", photo)
	out := f.ok("", "station", "enter", "--contest", contest, "--file", first, "--as", "first", "--by", chair,
		"--photo", photoFile)
	assert.Contains(t, out, "second_pending")
	sum := sha256.Sum256(photo)
	v := f.show()
	assert.Equal(t, station.StateSecondPending, v.State)
	assert.Equal(t, hex.EncodeToString(sum[:]), v.Photo)
	assert.Nil(t, v.Values, "the first entry's numbers are hidden from the second typist")

	// The second entry must be typed by someone else, and differs in B
	// and the members present.
	typo := f.counts()
	typo["B"]++
	secondFile := f.countsFile("second.json", typo, 4, "")
	f.fails("different commissioner", "", "station", "enter", "--contest", contest, "--file", secondFile,
		"--as", "second", "--by", " arta  KRASNIQI")
	out = f.ok("", "station", "enter", "--contest", contest, "--file", secondFile, "--as", "second", "--by", second)
	assert.Contains(t, out, "differences")
	assert.Regexp(t, fmt.Sprintf(`B\s+%d\s+%d`, counts["B"], typo["B"]), out)
	assert.Regexp(t, `members\s+5\s+4`, out)
	v = f.show()
	assert.Equal(t, station.StateDifferences, v.State)
	assert.Equal(t, []differenceJSON{
		{Field: "B", First: fmt.Sprint(counts["B"]), Second: fmt.Sprint(typo["B"])},
		{Field: "members", First: "5", Second: "4"},
	}, v.Differences)

	// Each difference is settled by retyping it.
	f.fails("nothing to resolve", "", "station", "resolve", "--contest", contest, "--field", "A",
		"--value", "1", "--by", chair)
	f.fails("B: the number cannot be negative", "", "station", "resolve", "--contest", contest, "--field", "B",
		"--value", "-1", "--by", chair)
	out = f.ok("", "station", "resolve", "--contest", contest, "--field", "B", "--value", fmt.Sprint(counts["B"]), "--by", chair)
	assert.Contains(t, out, "1 difference(s)")
	out = f.ok("", "station", "resolve", "--contest", contest, "--field", "members", "--value", "5", "--by", chair)
	assert.Contains(t, out, "the form is agreed")
	assert.Contains(t, out, "tally station seal")
	v = f.show()
	assert.Equal(t, station.StateAgreed, v.State)
	assert.Equal(t, counts["B"], v.Values["B"])
	assert.Equal(t, 5, v.Values[election.FieldMembers])

	// A wrong PIN seals nothing, and is counted.
	f.fails("the PIN is wrong (1 wrong in a row)", wrongPIN+"\n", "station", "seal", "--contest", contest)
	st = f.status()
	assert.Equal(t, 1, st.Provisioned.Throttle.Failures)
	assert.Equal(t, station.StateAgreed, st.Forms[0].State)
	assert.Empty(t, st.Outbox)
	f.fails("no PIN on the first line of standard input", "", "station", "seal", "--contest", contest)

	var v1 station.Version
	require.NoError(t, json.Unmarshal([]byte(f.ok(goodPIN+"\r\n", "station", "seal", "--contest", contest, "--json")), &v1))
	assert.Equal(t, 1, v1.Version)
	assert.Equal(t, uint64(1), v1.Sequence)
	assert.Len(t, v1.Digest, 64)
	f.fails("cannot be sealed while the form is sealed", "", "station", "seal", "--contest", contest, "--pin-file", f.pinFile)

	st = f.status()
	assert.Equal(t, 0, st.Provisioned.Throttle.Failures, "the right PIN forgets the wrong ones")
	assert.Equal(t, station.StateSealed, st.Forms[0].State)
	assert.Equal(t, 1, st.Forms[0].Sealed)
	assert.False(t, st.Forms[0].Received)
	require.Len(t, st.Outbox, 1)
	assert.Equal(t, v1.Digest, st.Outbox[0].Digest)

	// The commission's receipt, brought by hand, empties the outbox; one
	// signed by another key is refused.
	f.fails("no signature by a trusted key", "", "station", "receipt", f.receipt(f.otherKey, 1, v1.Digest, 41))
	f.fails("never sealed", "", "station", "receipt", f.receipt(f.receiptKey, 1, strings.Repeat("ab", 32), 42))
	receipt := f.receipt(f.receiptKey, 1, v1.Digest, 41)
	out = f.ok("", "station", "receipt", receipt)
	assert.Contains(t, out, "number 41")
	assert.Contains(t, out, "0 waiting")
	f.ok("", "station", "receipt", "--json", receipt) // the same receipt again changes nothing
	st = f.status()
	assert.Empty(t, st.Outbox)
	assert.True(t, st.Forms[0].Received)
	require.NotNil(t, st.LastReceipt)
	assert.Equal(t, uint64(41), st.LastReceipt.Number)

	// A correction starts version 2 from version 1's numbers.
	out = f.ok("", "station", "correct", "--contest", contest, "--by", chair)
	assert.Contains(t, out, "first_entry")
	v = f.show()
	assert.Equal(t, station.StateFirstEntry, v.State)
	assert.Equal(t, 2, v.Version)
	assert.Equal(t, counts["A"], v.Values["A"])

	// Version 2 carries an error of the paper form itself: C does not
	// balance. It is confirmed before it can be sealed.
	unbalanced := f.counts()
	unbalanced["C"] += 3
	v2File := f.countsFile("v2.json", unbalanced, 5, "")
	f.fails("is being typed by "+chair, "", "station", "enter", "--contest", contest, "--file", v2File,
		"--as", "first", "--by", second)
	f.ok("", "station", "enter", "--contest", contest, "--file", v2File, "--as", "first", "--by", chair)
	out = f.ok("", "station", "enter", "--contest", contest, "--file", v2File, "--as", "second", "--by", second)
	assert.Contains(t, out, "E.C-BAL")
	assert.Contains(t, out, "tally station confirm")
	v = f.show()
	assert.Equal(t, station.StateAgreed, v.State)
	assert.Equal(t, []string{"E.C-BAL"}, v.Unconfirmed)
	assert.Equal(t, "Numërimi përfundoi në orën 23:10.", v.Remarks, "a file without remarks keeps them")
	f.fails("error E.C-BAL is not confirmed", "", "station", "seal", "--contest", contest, "--pin-file", f.pinFile)
	f.fails("E.B-A is not an error of these numbers", "", "station", "confirm", "--contest", contest,
		"--rule", "E.B-A", "--explanation", "x", "--by", chair)
	out = f.ok("", "station", "confirm", "--contest", contest, "--rule", "E.C-BAL",
		"--explanation", "Three ballots were handed back by the municipality after closing.", "--by", chair)
	assert.Contains(t, out, "tally station seal")
	var v2 station.Version
	require.NoError(t, json.Unmarshal([]byte(f.ok("", "station", "seal", "--contest", contest,
		"--pin-file", f.pinFile, "--json")), &v2))
	assert.Equal(t, 2, v2.Version)
	assert.Equal(t, uint64(2), v2.Sequence)
	assert.Equal(t, v1.Digest, v2.Supersedes)
	st = f.status()
	assert.Equal(t, 2, st.Forms[0].Sealed)
	assert.False(t, st.Forms[0].Received)
	require.Len(t, st.Outbox, 1)
	assert.Equal(t, v2.Digest, st.Outbox[0].Digest)
	out = f.ok("", "station", "show", "--contest", contest)
	assert.Contains(t, out, "E.C-BAL: Three ballots")
	assert.Contains(t, out, v1.Digest)
	assert.Contains(t, out, v2.Digest)

	// The audit chain holds, and the database is whole.
	out = f.ok("", "audit", "verify")
	assert.Contains(t, out, "audit chain     ok")
	assert.Contains(t, out, "database        ok")
	records := f.auditRecords()
	assert.Greater(t, records, uint64(10))

	// The export: every file is as its manifest says.
	exportDir := filepath.Join(f.dir, "export", "station")
	var ex exportResult
	require.NoError(t, json.Unmarshal([]byte(f.ok("", "export", "--out", exportDir, "--json")), &ex))
	raw, err := os.ReadFile(filepath.Join(exportDir, "manifest.json"))
	require.NoError(t, err)
	var m station.Manifest
	require.NoError(t, json.Unmarshal(raw, &m))
	assert.Equal(t, station.ExportFormat, m.Format)
	assert.Equal(t, ex.AuditHead, m.AuditHead)
	assert.Equal(t, len(m.Files)+1, ex.Files)
	var names []string
	for _, file := range m.Files {
		names = append(names, file.Name)
		data, err := os.ReadFile(filepath.Join(exportDir, filepath.FromSlash(file.Name)))
		require.NoError(t, err, file.Name)
		got := sha256.Sum256(data)
		assert.Equal(t, file.SHA256, hex.EncodeToString(got[:]), file.Name)
		assert.Equal(t, file.Size, len(data), file.Name)
		if runtime.GOOS != "windows" {
			fi, err := os.Stat(filepath.Join(exportDir, filepath.FromSlash(file.Name)))
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), file.Name)
		}
	}
	prefix := contest + "-results-"
	assert.ElementsMatch(t, []string{"election.json", "submissions/" + prefix + "v1.json", "submissions/" + prefix + "v2.json",
		"photos/" + hex.EncodeToString(sum[:]) + ".png", "receipts/" + prefix + "v1.json", "audit.jsonl"}, names)
	def, err := os.ReadFile(filepath.Join(exportDir, "election.json"))
	require.NoError(t, err)
	assert.Equal(t, f.signed, def)

	// An export never overwrites: a directory with anything in it is
	// refused, and left as it was; an empty one is fine.
	f.fails("not empty", "", "export", "--out", exportDir)
	again, err := os.ReadFile(filepath.Join(exportDir, "manifest.json"))
	require.NoError(t, err)
	assert.Equal(t, raw, again)
	empty := filepath.Join(f.dir, "empty")
	require.NoError(t, os.Mkdir(empty, 0o700))
	out = f.ok("", "export", "--out", empty)
	assert.Contains(t, out, fmt.Sprintf("exported        %d files", ex.Files))
	f.fails("not a directory", "", "export", "--out", receipt)

	assert.Equal(t, records, f.auditRecords(), "reading and exporting audit nothing")
}

// TestStationEnterRefusesBadCounts feeds bad counts files to the first
// entry: each is refused with an error that names what is wrong, and the
// form stays as it was.
func TestStationEnterRefusesBadCounts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.provision()
	records := f.auditRecords()
	contest := f.key.Contest

	good := f.counts()
	valid, err := json.Marshal(map[string]any{"counts": good, "members_present": 5})
	require.NoError(t, err)
	// with replaces "key": value in the valid file.
	with := func(key string, value string) string {
		old := fmt.Sprintf(`"%s":%d`, key, good[key])
		require.Contains(t, string(valid), old)
		return strings.Replace(string(valid), old, fmt.Sprintf(`"%s":%s`, key, value), 1)
	}
	entity := string(f.layout.Fields[8].ID) // I.1

	cases := []struct {
		name, doc, want string
	}{
		{"UnknownKey", strings.Replace(string(valid), `{"counts"`, `{"signature":"x","counts"`, 1), `unknown field "signature"`},
		{"Negative", with("B", "-3"), "B: the number cannot be negative"},
		{"Float", with(entity, "12.5"), entity + `: "12.5" is not a whole number`},
		{"FloatWhole", with("D", "40.0"), `D: "40.0" is not a whole number`},
		{"Exponent", with("C", "1e3"), `C: "1e3" is not a whole number`},
		{"String", with("A", `"712"`), `A: "712" is text, not a number`},
		{"Null", with("G", "null"), "G: null is not a number"},
		{"TooLarge", with("A", "100000000"), "A: 100000000 is more than the largest allowed number"},
		{"NotOnForm", strings.Replace(string(valid), `"A":`, `"I.99":3,"A":`, 1), "I.99 is not a field of this form"},
		{"CandidateOnResults", strings.Replace(string(valid), `"A":`, `"K.1.1":3,"A":`, 1), "K.1.1 is not a field of this form"},
		{"Pseudo", strings.Replace(string(valid), `"A":`, `"members":3,"A":`, 1), `"members" is not a count field`},
		{"Twice", strings.Replace(string(valid), `"A":`, `"B":1,"A":`, 1), `"B" appears twice`},
		{"Missing", strings.Replace(string(valid), fmt.Sprintf(`"H":%d,`, good["H"]), "", 1), "H: a number is required"},
		{"MembersFloat", strings.Replace(string(valid), `"members_present":5`, `"members_present":5.5`, 1), `members_present: "5.5" is not a whole number`},
		{"MembersTooMany", strings.Replace(string(valid), `"members_present":5`, `"members_present":31`, 1), "members: 31 is more than the largest allowed number (30)"},
		{"NotObject", "[1,2,3]", "not a JSON object"},
		{"Trailing", string(valid) + " {}", "unexpected data after the JSON object"},
		{"Malformed", `{"counts": {"A": 1,}}`, "invalid character"},
		{"RemarksNumber", strings.Replace(string(valid), `{"counts"`, `{"remarks":5,"counts"`, 1), "remarks"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := f.on(t)
			file := f.writeFile(c.name+".json", []byte(c.doc))
			f.fails(c.want, "", "station", "enter", "--contest", contest, "--file", file, "--as", "first", "--by", chair)
		})
	}

	validFile := f.writeFile("valid.json", valid)
	t.Run("NotAPhoto", func(t *testing.T) {
		f := f.on(t)
		photo := f.writeFile("form.txt", []byte("not a photo"))
		f.fails("not a JPEG, PNG or PDF file", "", "station", "enter", "--contest", contest, "--file", validFile,
			"--as", "first", "--by", chair, "--photo", photo)
	})
	t.Run("BadName", func(t *testing.T) {
		f := f.on(t)
		f.fails("entered_by: the text contains characters that are not allowed", "", "station", "enter",
			"--contest", contest, "--file", validFile, "--as", "first", "--by", "Arta\x07")
	})
	t.Run("NotThisStationsForm", func(t *testing.T) {
		f := f.on(t)
		f.fails(`does not fill the results form of contest "NOPE"`, "", "station", "enter", "--contest", "NOPE",
			"--file", validFile, "--as", "first", "--by", chair)
	})
	t.Run("SecondBeforeFirst", func(t *testing.T) {
		f := f.on(t)
		f.fails("begin_second is not allowed while the form is empty", "", "station", "enter", "--contest", contest,
			"--file", validFile, "--as", "second", "--by", second)
	})

	// Nothing of it changed the form, or wrote to the audit log.
	v := f.show()
	assert.Equal(t, station.StateEmpty, v.State)
	assert.Nil(t, v.Values)
	assert.Empty(t, v.Photo)
	assert.Equal(t, records, f.auditRecords())

	// The valid file is taken; remarks with the second entry are not.
	f.ok("", "station", "enter", "--contest", contest, "--file", validFile, "--as", "first", "--by", chair)
	remarks := f.countsFile("remarks.json", good, 5, "a remark")
	f.fails("remarks and objections are typed with the first entry only", "", "station", "enter",
		"--contest", contest, "--file", remarks, "--as", "second", "--by", second)
	assert.Equal(t, station.StateSecondPending, f.show().State)
}

// TestStationPhoto attaches the photo after the first entry, and shows
// that a form without one cannot be sealed.
func TestStationPhoto(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.provision()
	contest := f.key.Contest
	file := f.countsFile("counts.json", f.counts(), 5, "")
	f.ok("", "station", "enter", "--contest", contest, "--file", file, "--as", "first", "--by", chair)
	out := f.ok("", "station", "enter", "--contest", contest, "--file", file, "--as", "second", "--by", second)
	assert.Contains(t, out, "the form is agreed")
	assert.Contains(t, out, "tally station photo")
	f.fails("photo:", "", "station", "seal", "--contest", contest, "--pin-file", f.pinFile)

	pdf := f.writeFile("form.pdf", []byte("%PDF-1.7\n%âãÏÓ\n"))
	f.ok("", "station", "photo", "--contest", contest, "--file", pdf, "--by", chair)
	assert.Len(t, f.show().Photo, 64)
	out = f.ok("", "station", "seal", "--contest", contest, "--pin-file", f.pinFile)
	assert.Contains(t, out, "sealed          "+f.key.String()+" version 1")
}

// TestStationUsage checks command lines that cannot be understood: exit
// status 2, and nothing is opened.
func TestStationUsage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, args := range [][]string{
		{"station"},
		{"station", "frobnicate"},
		{"station", "seal", "--contest", "ASM", "--pin", goodPIN},
		{"station", "init", "--definition", "x", "--fingerprint", "y", "--station", "z"},
		{"station", "enter", "--contest", "ASM", "--file", "x", "--as", "third", "--by", chair},
		{"station", "enter", "--contest", "ASM", "--file", "x", "--as", "first"},
		{"station", "enter", "--file", "x", "--as", "first", "--by", chair},
		{"station", "enter", "--contest", "ASM", "--file", "x", "--as", "second", "--by", second, "--photo", "p.png"},
		{"station", "show", "--contest", "ASM", "--form", "other"},
		{"station", "resolve", "--contest", "ASM", "--field", "B", "--by", chair},
		{"station", "confirm", "--contest", "ASM", "--rule", "E.C-BAL", "--by", chair},
		{"station", "receipt"},
		{"station", "receipt", "a.json", "b.json"},
		{"station", "status", "extra"},
		{"audit"},
		{"audit", "frobnicate"},
		{"export"},
	} {
		r := f.tally("", args...)
		assert.Equal(t, 2, r.code, "tally %v: %s", args, r.errOut)
		assert.Contains(t, r.errOut, "Usage:", "tally %v", args)
	}
	assert.NoFileExists(t, f.db)

	r := f.tally("", "station", "status", "-h")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.out, "tally station init")
}

// TestStationDatabasePath checks where the database is without --db, and
// that no command but init creates one.
func TestStationDatabasePath(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "elsewhere", "station.db")
	t.Setenv(dbEnv, db)
	got, err := defaultDBPath()
	require.NoError(t, err)
	assert.Equal(t, db, got)

	for _, args := range [][]string{
		{"station", "status"},
		{"station", "show", "--contest", "ASM"},
		{"audit", "verify"},
		{"export", "--out", filepath.Join(dir, "out")},
	} {
		var out, errOut bytes.Buffer
		code := run(args, strings.NewReader(""), &out, &errOut)
		assert.Equal(t, 1, code, "tally %v", args)
		assert.Contains(t, errOut.String(), "not provisioned", "tally %v", args)
		assert.Contains(t, errOut.String(), db, "tally %v", args)
	}
	assert.NoDirExists(t, filepath.Dir(db))
	assert.NoDirExists(t, filepath.Join(dir, "out"))

	t.Setenv(dbEnv, "")
	config, err := os.UserConfigDir()
	if err == nil {
		got, err = defaultDBPath()
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(config, "tally", "station.db"), got)
	}
}

func TestReadPIN(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	read := func(file, stdin string) (string, error) {
		pin, err := readPIN(file, &streams{stdin: strings.NewReader(stdin), stderr: &bytes.Buffer{}})
		return string(pin), err
	}
	pinFile := filepath.Join(dir, "pin")
	require.NoError(t, os.WriteFile(pinFile, []byte("  pass phrase \r\nsecond line\n"), 0o600))
	pin, err := read(pinFile, "from stdin\n")
	require.NoError(t, err)
	assert.Equal(t, "  pass phrase ", pin, "only the line's end is removed")

	pin, err = read("", "lule-bore-47\nmore")
	require.NoError(t, err)
	assert.Equal(t, "lule-bore-47", pin)
	pin, err = read("", "no-newline")
	require.NoError(t, err)
	assert.Equal(t, "no-newline", pin)

	_, err = read("", "")
	assert.ErrorContains(t, err, "no PIN on the first line of standard input")
	_, err = read("", "\nlater")
	assert.ErrorContains(t, err, "no PIN")
	_, err = read(filepath.Join(dir, "missing"), "")
	assert.ErrorContains(t, err, "PIN file")
	_, err = read("", strings.Repeat("x", maxPINLine+1)+"\n")
	assert.ErrorContains(t, err, "longer than")
	pin, err = read("", strings.Repeat("x", maxPINLine)+"\n")
	require.NoError(t, err)
	assert.Len(t, pin, maxPINLine)
}

func TestDecodeCounts(t *testing.T) {
	t.Parallel()
	typed, err := decodeCounts([]byte(`{"counts": {"A": 712, "I.1": 0}, "members_present": 5,
		"remarks": "r", "objections": "o"}`), station.First)
	require.NoError(t, err)
	r, o := "r", "o"
	assert.Equal(t, typedEntry{Typed: station.Typed{Values: map[election.Field]string{"A": "712", "I.1": "0",
		election.FieldMembers: "5"}, Remarks: &r, Objections: &o}}, typed)

	typed, err = decodeCounts([]byte(`{"remarks": ""}`), station.Second)
	require.NoError(t, err)
	assert.Empty(t, typed.Values)
	assert.Nil(t, typed.Remarks, "the second entry leaves the text to the first")

	typed, err = decodeCounts([]byte(`{"remarks": ""}`), station.First)
	require.NoError(t, err)
	require.NotNil(t, typed.Remarks, "remarks given empty clear them")
	assert.Empty(t, *typed.Remarks)
	assert.Nil(t, typed.Objections, "objections left out keep what the form holds")

	for doc, want := range map[string]string{
		`{"counts": {"A": 1}, "counts": {}}`:  `"counts" appears twice`,
		`{"counts": {"": 1}}`:                 "empty field name",
		`{"counts": {"A": [1]}}`:              "A: not a number",
		`{"counts": {"A": true}}`:             "A: not a number",
		`{"counts": [1]}`:                     "cannot unmarshal array",
		`{"members_present": "5"}`:            "members_present: \"5\" is text",
		`null`:                                "not a JSON object",
		``:                                    "EOF",
		`{"counts": {"A": 1}, "x": {"y": 1}}`: `unknown field "x"`,
	} {
		_, err := decodeCounts([]byte(doc), station.First)
		assert.ErrorContains(t, err, want, doc)
	}
}

func TestDirWriterRefusesEscapes(t *testing.T) {
	t.Parallel()
	w, err := newDirWriter(filepath.Join(t.TempDir(), "out"))
	require.NoError(t, err)
	for _, name := range []string{"", "../x", "/etc/x", "a/../../x", `a\b`, "a//b", "./a"} {
		assert.Error(t, w.WriteFile(name, []byte("x")), name)
	}
	require.NoError(t, w.WriteFile("a/b/c.json", []byte("x")))
	assert.Error(t, w.WriteFile("a/b/c.json", []byte("y")), "never overwritten")
	require.NoError(t, w.finish())
	require.NoError(t, w.undo())
	assert.NoDirExists(t, w.root)
}

// TestStationCandidatesForm types the preference votes of a counting
// centre, on the candidates form.
func TestStationCandidatesForm(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var centre *election.Station
	for i := range f.def.Stations {
		if f.def.Stations[i].Kind == election.Counting {
			centre = &f.def.Stations[i]
			break
		}
	}
	require.NotNil(t, centre)
	f.ok("", "station", "init", "--definition", f.definition, "--fingerprint", f.fingerprint,
		"--station", centre.Code, "--by", chair, "--pin-file", f.pinFile)
	l, err := f.def.Layout(f.key.Contest, election.CandidatesForm)
	require.NoError(t, err)
	counts := map[string]int{}
	for _, spec := range l.Fields {
		counts[string(spec.ID)] = 0
	}
	counts["I.1"], counts["K.1.1"] = 10, 7
	file := f.countsFile("candidates.json", counts, 3, "")
	f.fails(`does not fill the results form`, "", "station", "enter", "--contest", f.key.Contest,
		"--file", file, "--as", "first", "--by", chair)
	f.ok("", "station", "enter", "--contest", f.key.Contest, "--form", "candidates",
		"--file", file, "--as", "first", "--by", chair)
	out := f.ok("", "station", "enter", "--contest", f.key.Contest, "--form", "candidates",
		"--file", file, "--as", "second", "--by", second)
	assert.Contains(t, out, "the form is agreed")
	out = f.ok("", "station", "show", "--contest", f.key.Contest, "--form", "candidates")
	assert.Regexp(t, `K\.1\.1\s+7\s+Preference votes for `, out)
}

// TestAuditVerifyFails breaks the audit chain behind the station's back
// (through SQL, past the schema's guard; the test knows the table of
// storage/stationdb) and expects audit verify to say so and fail.
func TestAuditVerifyFails(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.provision()
	f.auditRecords()

	db, err := sql.Open("sqlite", f.db) // the driver storage/stationdb registers
	require.NoError(t, err)
	_, err = db.Exec(`DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'Mallory' WHERE seq = 1`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	r := f.tally("", "audit", "verify")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.out, "audit chain     BROKEN")
	assert.Contains(t, r.errOut, "the audit chain is broken")
	r = f.tally("", "audit", "verify", "--json")
	assert.Equal(t, 1, r.code)
	var a auditResult
	require.NoError(t, json.Unmarshal([]byte(r.out), &a))
	assert.False(t, a.OK)
	assert.Contains(t, a.ChainError, "record 1")
	assert.Empty(t, a.IntegrityError)
}
