// Package election holds the election definition, the results forms, their
// validation rules and the comparison of two entries of the same form.
//
// Nothing here knows about storage, transport or screens: the station app,
// the server and the supervisor's view all work on these types.
package election

// Format names the version of the definition document.
const Format = "tally.election/v1"

// PayloadType is the DSSE payload type of a signed election definition.
const PayloadType = "application/vnd.tally.election+json"

// Kind is the kind of election.
type Kind string

// The kinds of election.
const (
	Assembly  Kind = "assembly"  // one nationwide contest
	Municipal Kind = "municipal" // a mayoral and a municipal-assembly contest per municipality
)

// ContestKind says what a contest elects.
type ContestKind string

// The kinds of contest.
const (
	ContestAssembly          ContestKind = "assembly"
	ContestMayor             ContestKind = "mayor"
	ContestMunicipalAssembly ContestKind = "municipal-assembly"
)

// EntityKind says what stands on the ballot.
type EntityKind string

// The kinds of political entity.
const (
	Party            EntityKind = "party"
	Coalition        EntityKind = "coalition"
	Initiative       EntityKind = "initiative"  // citizens' initiative
	Independent      EntityKind = "independent" // independent candidate
	MayoralCandidate EntityKind = "candidate"   // a candidate for mayor
)

// StationKind tells a polling station from a counting centre.
type StationKind string

// The kinds of reporting unit.
const (
	Polling  StationKind = "polling"  // a polling station in a voting centre
	Counting StationKind = "counting" // a municipal counting centre
)

// FormKind names a paper form.
type FormKind string

// The forms.
const (
	// ResultsForm is the station results form: ballot reconciliation and
	// the votes of each entity.
	ResultsForm FormKind = "results"
	// CandidatesForm is the candidate results form: preference votes per
	// candidate, counted at a municipal counting centre.
	CandidatesForm FormKind = "candidates"
)

// Names holds a name in every language of the definition, keyed by
// language tag (sq, sr-Latn, sr-Cyrl, en, tr).
type Names map[string]string

// Definition is a whole election as the commission publishes it.
type Definition struct {
	Format         string         `json:"format"`
	Election       Election       `json:"election"`
	Municipalities []Municipality `json:"municipalities"`
	VotingCentres  []VotingCentre `json:"voting_centres"`
	Stations       []Station      `json:"stations"`
	Contests       []Contest      `json:"contests"`

	index *index
}

// Election is the election itself and how to reach the commission.
type Election struct {
	ID        string   `json:"id"`
	Kind      Kind     `json:"kind"`
	Name      Names    `json:"name"`
	Date      string   `json:"date"` // YYYY-MM-DD, election day
	Languages []string `json:"languages"`
	Keys      Keys     `json:"keys"`
	Servers   []Server `json:"servers"`
	// OutOfCountryVoters are registered voters who vote by mail or abroad;
	// their ballots are counted centrally, not at any station.
	OutOfCountryVoters int `json:"out_of_country_voters"`
}

// Keys are the commission's public keys in the text form of seal.EncodePublicKey.
type Keys struct {
	Definition  string `json:"definition"`
	Receipt     string `json:"receipt"`
	Publication string `json:"publication"`
}

// Server is one address of the commission's server. An https server comes
// with the SHA-256 pins of its certificate's public key: a primary and a
// backup at least.
type Server struct {
	URL  string   `json:"url"`
	Pins []string `json:"pins,omitempty"` // "sha256/" + base64 of the SPKI digest
}

// Municipality is one of the municipalities.
type Municipality struct {
	Code string `json:"code"`
	Name Names  `json:"name"`
}

// VotingCentre is a building with one or more polling stations.
type VotingCentre struct {
	Code         string `json:"code"`
	Municipality string `json:"municipality"`
	Name         string `json:"name"`
}

// Station is a reporting unit: a polling station in a voting centre, or a
// municipal counting centre.
type Station struct {
	Code         string      `json:"code"`
	Kind         StationKind `json:"kind"`
	Municipality string      `json:"municipality"`
	Centre       string      `json:"centre,omitempty"` // polling stations only
	Name         string      `json:"name"`
	Registered   int         `json:"registered"` // voters on the final list; 0 for a counting centre
	Forms        []FormRef   `json:"forms"`
}

// FormRef is one form a station fills for one contest.
type FormRef struct {
	Contest string   `json:"contest"`
	Form    FormKind `json:"form"`
}

// Contest is one ballot: what it elects, where, and who stands.
type Contest struct {
	Code         string      `json:"code"`
	Kind         ContestKind `json:"kind"`
	Municipality string      `json:"municipality,omitempty"` // empty for a nationwide contest
	Name         Names       `json:"name"`
	Seats        int         `json:"seats"`
	// MaxPreferences is how many candidates of the chosen entity a voter
	// may mark; 0 where there are no preference votes.
	MaxPreferences int      `json:"max_preferences"`
	Entities       []Entity `json:"entities"`
}

// Entity is a choice on the ballot: a party, coalition, citizens'
// initiative, independent candidate, or a candidate for mayor.
type Entity struct {
	Number     int         `json:"number"` // position on the ballot
	Kind       EntityKind  `json:"kind"`
	Name       string      `json:"name"`
	Candidates []Candidate `json:"candidates,omitempty"`
}

// Candidate is one name on an entity's open list.
type Candidate struct {
	Number int    `json:"number"` // position on the list
	Name   string `json:"name"`
}

// Municipality returns the municipality with the code.
func (d *Definition) Municipality(code string) (*Municipality, bool) {
	return lookup(d.Municipalities, d.index.municipalities, code)
}

// VotingCentre returns the voting centre with the code.
func (d *Definition) VotingCentre(code string) (*VotingCentre, bool) {
	return lookup(d.VotingCentres, d.index.centres, code)
}

// Station returns the station with the code.
func (d *Definition) Station(code string) (*Station, bool) {
	return lookup(d.Stations, d.index.stations, code)
}

// Contest returns the contest with the code.
func (d *Definition) Contest(code string) (*Contest, bool) {
	return lookup(d.Contests, d.index.contests, code)
}

func lookup[T any](list []T, index map[string]int, code string) (*T, bool) {
	i, ok := index[code]
	if !ok {
		return nil, false
	}
	return &list[i], true
}

// Entity returns the entity with the ballot number.
func (c *Contest) Entity(number int) (*Entity, bool) {
	for i := range c.Entities {
		if c.Entities[i].Number == number {
			return &c.Entities[i], true
		}
	}
	return nil, false
}

// Fills reports whether the station fills the form for the contest.
func (s *Station) Fills(contest string, form FormKind) bool {
	for _, f := range s.Forms {
		if f.Contest == contest && f.Form == form {
			return true
		}
	}
	return false
}

// Totals are the figures of a definition, for summaries and tests.
type Totals struct {
	Municipalities  int
	VotingCentres   int
	PollingStations int
	CountingCentres int
	Registered      int // on station lists
	OutOfCountry    int
	Contests        int
	Entities        int // distinct entities across list contests
	Candidates      int // across all contests, mayoral candidates included
	Forms           int // station forms to be filled
}

// Totals counts what the definition holds.
func (d *Definition) Totals() Totals {
	t := Totals{
		Municipalities: len(d.Municipalities),
		VotingCentres:  len(d.VotingCentres),
		OutOfCountry:   d.Election.OutOfCountryVoters,
		Contests:       len(d.Contests),
	}
	for i := range d.Stations {
		s := &d.Stations[i]
		switch s.Kind {
		case Polling:
			t.PollingStations++
		case Counting:
			t.CountingCentres++
		}
		t.Registered += s.Registered
		t.Forms += len(s.Forms)
	}
	entities := map[string]bool{}
	for i := range d.Contests {
		for _, e := range d.Contests[i].Entities {
			if e.Kind == MayoralCandidate {
				t.Candidates++
				continue
			}
			entities[e.Name] = true
			t.Candidates += len(e.Candidates)
		}
	}
	t.Entities = len(entities)
	return t
}
