package publish

// Results are the preliminary results of every contest of the election,
// added up from the stations' accepted forms.
type Results struct {
	Election string           `json:"election"`
	Contests []ContestResults `json:"contests"` // in the order of the definition
}

// ContestResults are one contest's results at every level. Every list is
// in the order of the definition; every Votes and SharesBP in the order of
// Entities.
type ContestResults struct {
	Contest string `json:"contest"`
	// Entities are the ballot numbers of the contest's entities, in
	// ballot order.
	Entities       []int   `json:"entities"`
	National       Tally   `json:"national"`
	Municipalities []Tally `json:"municipalities"`
	Centres        []Tally `json:"centres"`
	// Stations are the polling stations that fill the contest's results
	// form, reported or not.
	Stations []Tally `json:"stations"`
	// Preferences are the candidates' preference votes, for a contest
	// whose candidate results forms are counted at counting centres.
	Preferences *Preferences `json:"preferences,omitempty"`
}

// Tally is the results of one area (the nation, a municipality, a voting
// centre) or of one polling station, from the station results forms. A
// station's figures are its form's; an area's are the sums of its
// stations'. Only stations that reported add to the counts; Registered
// counts every station.
//
// Shares and turnout are in basis points (hundredths of a percent),
// computed once from the integer counts and rounded half up:
// share = round(10000 × votes / valid), turnout = round(10000 × voted /
// registered_reported); 0 when the divisor is 0. Shares are each rounded
// on their own, so they need not add up to exactly 10000.
type Tally struct {
	Code               string `json:"code,omitempty"`      // the municipality's, centre's or station's; empty nationally
	Stations           int    `json:"stations"`            // polling stations that fill the form
	Reported           int    `json:"reported"`            // of those, the ones counted
	Registered         int    `json:"registered"`          // voters on the lists of all the stations, from the definition
	RegisteredReported int    `json:"registered_reported"` // A: voters on the lists of the stations reported
	Voted              int    `json:"voted"`               // B: voters who signed the list
	BallotsReceived    int    `json:"ballots_received"`    // C
	BallotsUnused      int    `json:"ballots_unused"`      // D
	BallotsSpoiled     int    `json:"ballots_spoiled"`     // E
	BallotsInBox       int    `json:"ballots_in_box"`      // F
	Invalid            int    `json:"invalid"`             // G: invalid ballots, blank included
	Valid              int    `json:"valid"`               // H
	Votes              []int  `json:"votes"`               // I.n
	SharesBP           []int  `json:"shares_bp"`           // of Valid
	TurnoutBP          int    `json:"turnout_bp"`          // Voted of RegisteredReported
}

// Preferences are a contest's preference votes: per counting centre (from
// its candidate results form), per municipality and nationally.
type Preferences struct {
	National       PreferenceTally   `json:"national"`
	Municipalities []PreferenceTally `json:"municipalities"`
	// Stations are the counting centres that fill the contest's
	// candidate results form, reported or not.
	Stations []PreferenceTally `json:"stations"`
}

// PreferenceTally is the preference votes of one area or counting centre.
type PreferenceTally struct {
	Code     string              `json:"code,omitempty"`
	Stations int                 `json:"stations"` // counting centres that fill the form
	Reported int                 `json:"reported"`
	Entities []EntityPreferences `json:"entities"` // in ballot order
}

// EntityPreferences is one entity's line of the candidate results form:
// its votes as counted at the counting centre (I.n) and each candidate's
// preference votes (K.n.m), in list order.
type EntityPreferences struct {
	Entity     int   `json:"entity"`
	Votes      int   `json:"votes"`
	Candidates []int `json:"candidates"`
}

// basisPoints is round(10000 × part / whole), half up, in integers; 0 when
// whole is 0.
func basisPoints(part, whole int) int {
	if whole <= 0 {
		return 0
	}
	return (2*10000*part + whole) / (2 * whole)
}

// counts lists a tally's additive figures by name, for adding and for
// comparing.
func (t *Tally) counts() []namedCount {
	return []namedCount{
		{"stations", &t.Stations}, {"reported", &t.Reported}, {"registered", &t.Registered},
		{"registered_reported", &t.RegisteredReported}, {"voted", &t.Voted},
		{"ballots_received", &t.BallotsReceived}, {"ballots_unused", &t.BallotsUnused},
		{"ballots_spoiled", &t.BallotsSpoiled}, {"ballots_in_box", &t.BallotsInBox},
		{"invalid", &t.Invalid}, {"valid", &t.Valid},
	}
}

type namedCount struct {
	name string
	n    *int
}

// add adds another tally's counts and votes to t.
func (t *Tally) add(o *Tally) {
	mine, theirs := t.counts(), o.counts()
	for i := range mine {
		*mine[i].n += *theirs[i].n
	}
	for i := range t.Votes {
		if i < len(o.Votes) {
			t.Votes[i] += o.Votes[i]
		}
	}
}

// finish computes the shares and the turnout from the counts.
func (t *Tally) finish() {
	t.SharesBP = make([]int, len(t.Votes))
	for i, v := range t.Votes {
		t.SharesBP[i] = basisPoints(v, t.Valid)
	}
	t.TurnoutBP = basisPoints(t.Voted, t.RegisteredReported)
}

func newTally(code string, entities int) Tally {
	return Tally{Code: code, Votes: make([]int, entities)}
}

func newPreferenceTally(code string, entities []int, candidates []int) PreferenceTally {
	p := PreferenceTally{Code: code, Entities: make([]EntityPreferences, len(entities))}
	for i, n := range entities {
		p.Entities[i] = EntityPreferences{Entity: n, Candidates: make([]int, candidates[i])}
	}
	return p
}

func (p *PreferenceTally) add(o *PreferenceTally) {
	p.Stations += o.Stations
	p.Reported += o.Reported
	for i := range p.Entities {
		if i >= len(o.Entities) {
			break
		}
		p.Entities[i].Votes += o.Entities[i].Votes
		for j := range p.Entities[i].Candidates {
			if j < len(o.Entities[i].Candidates) {
				p.Entities[i].Candidates[j] += o.Entities[i].Candidates[j]
			}
		}
	}
}
