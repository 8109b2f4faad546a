package publish

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"sync"
	"time"

	"tally/app/election"
	"tally/app/seal"
)

// A published snapshot is a set of files under one root ("/v1/results/"
// on the server, the directory `tallyd publish --out` writes): the same
// paths on both, so that a static host serves what tallyd serves.
//
//	latest.json                        the pointer to the latest snapshot
//	N/snapshot.json                    the sealed snapshot (DSSE), the one signed document
//	N/summary.json                     every contest's national and municipal figures, by code
//	N/names.json                       what the codes stand for (the definition's names: read once)
//	N/municipalities/CODE.json         a municipality's centres and stations, with each counted form
//	N/CONTEST/stations.csv             per polling station
//	N/CONTEST/municipalities.csv       per municipality and national
//
// Everything but latest.json lives under its snapshot's number and never
// changes. The views (summary, municipalities, CSV) are derived from the
// sealed snapshot and the definition alone, deterministically: a reader
// who checked snapshot.json can derive them again and compare the bytes
// (CheckFiles).

// The formats of the views.
const (
	SummaryFormat      = "tally.results.summary/v1"
	NamesFormat        = "tally.results.names/v1"
	MunicipalityFormat = "tally.results.municipality/v1"
	LatestFormat       = "tally.results.latest/v1"
)

// LatestPath is the pointer's path under the root.
const LatestPath = "latest.json"

// File is one file of a published snapshot, ready to serve: its bytes,
// gzipped once, and an entity tag (the SHA-256 of the bytes).
type File struct {
	Path        string // under the root, e.g. "7/summary.json"
	ContentType string
	Body        []byte
	ETag        string
	gz          *lazyGzip
}

// Gzip is Body gzip-compressed: the summary and latest.json when made,
// the rest (the signed snapshot: megabytes that few read) when first asked
// for.
func (f *File) Gzip() []byte { return f.gz.bytes(f.Body) }

// lazyGzip compresses once, on first use; copies of a File share it.
type lazyGzip struct {
	once  sync.Once
	level int
	out   []byte
}

func (g *lazyGzip) bytes(body []byte) []byte {
	g.once.Do(func() {
		var b bytes.Buffer
		w, err := gzip.NewWriterLevel(&b, g.level)
		if err != nil {
			panic(err) // the levels used are valid
		}
		_, _ = w.Write(body) // a bytes.Buffer takes everything
		_ = w.Close()
		g.out = b.Bytes()
	})
	return g.out
}

// Summary is N/summary.json: what a results page shows first, by code.
// The names the codes stand for are in N/names.json, the same in every
// snapshot of the election, so that a crowd polling the summary does not
// carry them each time; WithNames fills the fields marked "from
// names.json".
type Summary struct {
	Format         string             `json:"format"`
	Number         uint64             `json:"number"`
	SnapshotDigest string             `json:"snapshot_digest"` // seal.Digest of N/snapshot.json
	CreatedAt      time.Time          `json:"created_at"`
	ElectionID     string             `json:"election"`
	Contests       []SummaryContest   `json:"contests"`
	Files          map[string]string  `json:"files"` // what else the snapshot has, by name: path relative to N/
	Reported       SummaryStationInfo `json:"reported"`

	Election       SummaryElection `json:"-"` // from names.json
	Municipalities []NamedUnit     `json:"-"` // from names.json: every municipality, in the definition's order
}

// Names is N/names.json: the election, its municipalities and its
// contests with their entities, named in every language of the
// definition.
type Names struct {
	Format         string          `json:"format"`
	Election       SummaryElection `json:"election"`
	Municipalities []NamedUnit     `json:"municipalities"`
	Contests       []NamedContest  `json:"contests"`
}

// NamedContest is a contest as the definition names it.
type NamedContest struct {
	Contest      string               `json:"contest"`
	Kind         election.ContestKind `json:"kind"`
	Municipality string               `json:"municipality,omitempty"` // empty for a nationwide contest
	Name         election.Names       `json:"name"`
	Seats        int                  `json:"seats"`
	Entities     []SummaryEntity      `json:"entities"` // ballot order, as every Votes list
}

// WithNames fills the summary's names from the snapshot's names.json.
func (s *Summary) WithNames(n *Names) error {
	if n.Election.ID != s.ElectionID {
		return fmt.Errorf("publish: names of election %q for a summary of %q", n.Election.ID, s.ElectionID)
	}
	by := make(map[string]*NamedContest, len(n.Contests))
	for i := range n.Contests {
		by[n.Contests[i].Contest] = &n.Contests[i]
	}
	for i := range s.Contests {
		c := &s.Contests[i]
		nc, ok := by[c.Contest]
		if !ok {
			return fmt.Errorf("publish: names.json has no contest %s", c.Contest)
		}
		c.Kind, c.Municipality, c.Name, c.Seats, c.Entities = nc.Kind, nc.Municipality, nc.Name, nc.Seats, nc.Entities
	}
	s.Election, s.Municipalities = n.Election, n.Municipalities
	return nil
}

// SummaryElection names the election.
type SummaryElection struct {
	ID        string         `json:"id"`
	Kind      election.Kind  `json:"kind"`
	Name      election.Names `json:"name"`
	Date      string         `json:"date"`
	Languages []string       `json:"languages"`
}

// SummaryStationInfo counts the polling stations that reported at least
// one counted results form, of all that fill one.
type SummaryStationInfo struct {
	Stations int `json:"stations"`
	Reported int `json:"reported"`
}

// NamedUnit is a municipality with its name in every language.
type NamedUnit struct {
	Code string         `json:"code"`
	Name election.Names `json:"name"`
}

// Place is a voting centre or a station, whose names are in one language.
type Place struct {
	Code   string               `json:"code"`
	Name   string               `json:"name"`
	Kind   election.StationKind `json:"kind,omitempty"`   // a station's
	Centre string               `json:"centre,omitempty"` // a polling station's voting centre
}

// SummaryContest is one contest's national and municipal figures; its
// votes are in the order of the contest's entities in names.json.
type SummaryContest struct {
	Contest  string `json:"contest"`
	National Tally  `json:"national"`
	// Municipalities are the contest's figures per municipality; empty
	// for a contest of one municipality, whose national figures are its.
	Municipalities []Tally `json:"municipalities"`

	Kind         election.ContestKind `json:"-"` // from names.json
	Municipality string               `json:"-"` // from names.json
	Name         election.Names       `json:"-"` // from names.json
	Seats        int                  `json:"-"` // from names.json
	Entities     []SummaryEntity      `json:"-"` // from names.json
}

// SummaryEntity is a choice on a contest's ballot.
type SummaryEntity struct {
	Number int                 `json:"number"`
	Kind   election.EntityKind `json:"kind"`
	Name   string              `json:"name"`
}

// MunicipalityView is N/municipalities/CODE.json: a municipality's
// figures down to each polling station, and which form of each is counted.
type MunicipalityView struct {
	Format         string                 `json:"format"`
	Number         uint64                 `json:"number"`
	SnapshotDigest string                 `json:"snapshot_digest"`
	CreatedAt      time.Time              `json:"created_at"`
	Municipality   NamedUnit              `json:"municipality"`
	Centres        []Place                `json:"centres"`
	Stations       []Place                `json:"stations"` // polling stations and counting centres
	Contests       []MunicipalityContest  `json:"contests"`
	Forms          []MunicipalityFormInfo `json:"forms"` // the counted forms of its stations, envelope left out
}

// MunicipalityContest is one contest's figures within a municipality.
type MunicipalityContest struct {
	Contest      string          `json:"contest"`
	Name         election.Names  `json:"name"`
	Entities     []SummaryEntity `json:"entities"`
	Municipality Tally           `json:"municipality"`
	Centres      []Tally         `json:"centres"`
	Stations     []Tally         `json:"stations"`
}

// MunicipalityFormInfo is one counted form: which version, its digest (of
// the envelope inside snapshot.json), its review and its photo's hash.
type MunicipalityFormInfo struct {
	Station     string            `json:"station"`
	Contest     string            `json:"contest"`
	Form        election.FormKind `json:"form"`
	Version     int               `json:"version"`
	Digest      string            `json:"digest"`
	Review      Review            `json:"review"`
	ReceivedAt  time.Time         `json:"received_at"`
	PhotoSHA256 string            `json:"photo_sha256,omitempty"`
}

// Latest is latest.json: which snapshot is the latest, and where.
type Latest struct {
	Format    string    `json:"format"`
	Number    uint64    `json:"number"`
	Digest    string    `json:"digest"` // seal.Digest of the sealed snapshot
	CreatedAt time.Time `json:"created_at"`
	Snapshot  string    `json:"snapshot"` // paths relative to the root
	Summary   string    `json:"summary"`
}

// SnapshotPath, SummaryPath and MunicipalityPath are where snapshot n's
// files are, under the root.
func SnapshotPath(n uint64) string { return strconv.FormatUint(n, 10) + "/snapshot.json" }

// SummaryPath: see SnapshotPath.
func SummaryPath(n uint64) string { return strconv.FormatUint(n, 10) + "/summary.json" }

// NamesPath: see SnapshotPath.
func NamesPath(n uint64) string { return strconv.FormatUint(n, 10) + "/names.json" }

// MunicipalityPath: see SnapshotPath.
func MunicipalityPath(n uint64, code string) string {
	return strconv.FormatUint(n, 10) + "/municipalities/" + code + ".json"
}

// CSVPaths are where a contest's CSV files are: per station, per
// municipality.
func CSVPaths(n uint64, contest string) (stations, municipalities string) {
	dir := strconv.FormatUint(n, 10) + "/" + contest + "/"
	return dir + "stations.csv", dir + "municipalities.csv"
}

// Files derives every file of snapshot s (whose sealed bytes are sealed)
// but latest.json: the snapshot itself first, then the summary, the
// municipalities in the definition's order, and each contest's CSV files.
func Files(def *election.Definition, s *Snapshot, sealed []byte) ([]File, error) {
	return files(def, s, sealed, seal.Digest(sealed))
}

// files is Files for sealed bytes whose digest is known.
func files(def *election.Definition, s *Snapshot, sealed []byte, digest string) ([]File, error) {
	var out []File
	// The summary is what a crowd reads: compressed at once and as small
	// as it gets. The rest is compressed when first asked for.
	eager := true
	add := func(p, contentType string, body []byte) error {
		f, err := newFile(p, contentType, body, gzip.BestCompression, eager)
		if err != nil {
			return err
		}
		out = append(out, f)
		return nil
	}
	out = append(out, File{Path: SnapshotPath(s.Number), ContentType: "application/json", Body: sealed,
		ETag: `"` + digest + `"`, gz: &lazyGzip{level: gzip.DefaultCompression}})
	summary, err := json.Marshal(summaryOf(def, s, digest))
	if err != nil {
		return nil, fmt.Errorf("publish: encode the summary of snapshot %d: %w", s.Number, err)
	}
	if err := add(SummaryPath(s.Number), "application/json", summary); err != nil {
		return nil, err
	}
	names, err := json.Marshal(namesOf(def))
	if err != nil {
		return nil, fmt.Errorf("publish: encode the names of snapshot %d: %w", s.Number, err)
	}
	if err := add(NamesPath(s.Number), "application/json", names); err != nil {
		return nil, err
	}
	eager = false
	for i := range def.Municipalities {
		m := &def.Municipalities[i]
		body, err := json.Marshal(municipalityOf(def, s, digest, m))
		if err != nil {
			return nil, fmt.Errorf("publish: encode municipality %s of snapshot %d: %w", m.Code, s.Number, err)
		}
		if err := add(MunicipalityPath(s.Number, m.Code), "application/json", body); err != nil {
			return nil, err
		}
	}
	for i := range s.Results.Contests {
		contest := s.Results.Contests[i].Contest
		stations, municipalities := CSVPaths(s.Number, contest)
		var b bytes.Buffer
		if err := WriteStationsCSV(&b, def, s, contest); err != nil {
			return nil, err
		}
		if err := add(stations, "text/csv; charset=utf-8", b.Bytes()); err != nil {
			return nil, err
		}
		var m bytes.Buffer
		if err := WriteMunicipalitiesCSV(&m, s, contest); err != nil {
			return nil, err
		}
		if err := add(municipalities, "text/csv; charset=utf-8", m.Bytes()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// LatestFile is latest.json for a published snapshot.
func LatestFile(p *Published) (File, error) {
	body, err := json.Marshal(Latest{Format: LatestFormat, Number: p.Number, Digest: p.Digest,
		CreatedAt: p.CreatedAt, Snapshot: SnapshotPath(p.Number), Summary: SummaryPath(p.Number)})
	if err != nil {
		return File{}, err
	}
	return newFile(LatestPath, "application/json", body, gzip.BestCompression, true)
}

// CheckFiles compares files said to be snapshot s's with what Files
// derives from it, and names the first that differs, is missing or is not
// one of them.
func CheckFiles(def *election.Definition, s *Snapshot, sealed []byte, got map[string][]byte) error {
	want, err := Files(def, s, sealed)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, f := range want {
		seen[f.Path] = true
		b, ok := got[f.Path]
		if !ok {
			return fmt.Errorf("publish: snapshot %d: %s is missing", s.Number, f.Path)
		}
		if !bytes.Equal(b, f.Body) {
			return fmt.Errorf("publish: snapshot %d: %s is not what the signed snapshot gives", s.Number, f.Path)
		}
	}
	for p := range got {
		if !seen[p] {
			return fmt.Errorf("publish: snapshot %d: %s is not a file of the snapshot", s.Number, p)
		}
	}
	return nil
}

// NewFile readies bytes to serve under a path, as Files does: gzipped once,
// with the SHA-256 of the bytes as entity tag.
func NewFile(p, contentType string, body []byte) (File, error) {
	return newFile(p, contentType, body, gzip.BestCompression, true)
}

func newFile(p, contentType string, body []byte, level int, eager bool) (File, error) {
	if path.Clean(p) != p || path.IsAbs(p) {
		return File{}, fmt.Errorf("publish: file path %q is not a plain relative path", p)
	}
	f := File{Path: p, ContentType: contentType, Body: body, ETag: `"` + seal.Digest(body) + `"`, gz: &lazyGzip{level: level}}
	if eager {
		f.Gzip()
	}
	return f, nil
}

func entitiesOf(c *election.Contest) []SummaryEntity {
	out := make([]SummaryEntity, len(c.Entities))
	for i, e := range c.Entities {
		out[i] = SummaryEntity{Number: e.Number, Kind: e.Kind, Name: e.Name}
	}
	return out
}

func summaryOf(def *election.Definition, s *Snapshot, digest string) *Summary {
	sum := &Summary{
		Format: SummaryFormat, Number: s.Number, SnapshotDigest: digest, CreatedAt: s.CreatedAt,
		ElectionID: def.Election.ID, Files: map[string]string{"snapshot": "snapshot.json", "names": "names.json"},
	}
	for i := range s.Results.Contests {
		cr := &s.Results.Contests[i]
		c, ok := def.Contest(cr.Contest)
		if !ok {
			continue // Open and NewSnapshot refuse such a snapshot
		}
		perMunicipality := cr.Municipalities
		if c.Municipality != "" {
			perMunicipality = []Tally{}
		}
		sum.Contests = append(sum.Contests, SummaryContest{Contest: c.Code, National: cr.National, Municipalities: perMunicipality})
		stations, municipalities := CSVPaths(s.Number, c.Code)
		prefix := strconv.FormatUint(s.Number, 10) + "/"
		sum.Files[c.Code+"/stations.csv"] = stations[len(prefix):]
		sum.Files[c.Code+"/municipalities.csv"] = municipalities[len(prefix):]
	}
	reported := map[string]bool{}
	for i := range s.Stations {
		if s.Stations[i].Form == election.ResultsForm {
			reported[s.Stations[i].Station] = true
		}
	}
	for i := range def.Stations {
		st := &def.Stations[i]
		if st.Kind != election.Polling {
			continue
		}
		sum.Reported.Stations++
		if reported[st.Code] {
			sum.Reported.Reported++
		}
	}
	return sum
}

func namesOf(def *election.Definition) *Names {
	e := &def.Election
	n := &Names{Format: NamesFormat,
		Election: SummaryElection{ID: e.ID, Kind: e.Kind, Name: e.Name, Date: e.Date, Languages: e.Languages}}
	for i := range def.Municipalities {
		m := &def.Municipalities[i]
		n.Municipalities = append(n.Municipalities, NamedUnit{Code: m.Code, Name: m.Name})
	}
	for i := range def.Contests {
		c := &def.Contests[i]
		n.Contests = append(n.Contests, NamedContest{Contest: c.Code, Kind: c.Kind, Municipality: c.Municipality,
			Name: c.Name, Seats: c.Seats, Entities: entitiesOf(c)})
	}
	return n
}

func municipalityOf(def *election.Definition, s *Snapshot, digest string, m *election.Municipality) *MunicipalityView {
	v := &MunicipalityView{
		Format: MunicipalityFormat, Number: s.Number, SnapshotDigest: digest, CreatedAt: s.CreatedAt,
		Municipality: NamedUnit{Code: m.Code, Name: m.Name},
		Centres:      []Place{}, Stations: []Place{}, Contests: []MunicipalityContest{},
		Forms: []MunicipalityFormInfo{},
	}
	centres := map[string]bool{}
	for i := range def.VotingCentres {
		c := &def.VotingCentres[i]
		if c.Municipality == m.Code {
			centres[c.Code] = true
			v.Centres = append(v.Centres, Place{Code: c.Code, Name: c.Name})
		}
	}
	stations := map[string]bool{}
	for i := range def.Stations {
		st := &def.Stations[i]
		if st.Municipality == m.Code {
			stations[st.Code] = true
			v.Stations = append(v.Stations, Place{Code: st.Code, Name: st.Name, Kind: st.Kind, Centre: st.Centre})
		}
	}
	for i := range s.Results.Contests {
		cr := &s.Results.Contests[i]
		c, ok := def.Contest(cr.Contest)
		if !ok || (c.Municipality != "" && c.Municipality != m.Code) {
			continue
		}
		mc := MunicipalityContest{Contest: c.Code, Name: c.Name, Entities: entitiesOf(c),
			Centres: []Tally{}, Stations: []Tally{}}
		for _, t := range cr.Municipalities {
			if t.Code == m.Code {
				mc.Municipality = t
			}
		}
		for _, t := range cr.Centres {
			if centres[t.Code] {
				mc.Centres = append(mc.Centres, t)
			}
		}
		for _, t := range cr.Stations {
			if stations[t.Code] {
				mc.Stations = append(mc.Stations, t)
			}
		}
		v.Contests = append(v.Contests, mc)
	}
	for i := range s.Stations {
		e := &s.Stations[i]
		if stations[e.Station] {
			v.Forms = append(v.Forms, MunicipalityFormInfo{Station: e.Station, Contest: e.Contest, Form: e.Form,
				Version: e.Version, Digest: e.Digest, Review: e.Review, ReceivedAt: e.ReceivedAt, PhotoSHA256: e.PhotoSHA256})
		}
	}
	return v
}
