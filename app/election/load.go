package election

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"tally/app/seal"
)

// Limits of a definition document.
const (
	MaxDefinitionSize  = 32 << 20
	MaxRegistered      = 750 // voters on one polling station's list
	MaxNameLength      = 200 // characters
	maxMunicipalities  = 200
	maxCentres         = 20000
	maxStations        = 20000
	maxContests        = 500
	maxEntities        = 200
	maxCandidates      = 500
	maxFormsPerStation = 50
	maxLanguages       = 10
	maxServers         = 8
	maxPins            = 8
	maxSeats           = 500
	maxBallotNumber    = 999
	maxPreferencesCap  = 50
	maxOutOfCountry    = 10_000_000
)

var (
	idPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	codePattern = regexp.MustCompile(`^[0-9A-Z][0-9A-Z-]{0,15}$`)
	langPattern = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)
)

// Load decodes and checks a definition document whole. It returns either a
// definition whose every reference resolves, or Problems naming each thing
// wrong with its JSON path; never a half-loaded definition.
func Load(raw []byte) (*Definition, error) {
	if len(raw) > MaxDefinitionSize {
		return nil, Problems{{Path: "$", Code: ProblemTooLarge, Args: map[string]any{"Max": MaxDefinitionSize}}}
	}
	if p := checkJSON(raw); p != nil {
		return nil, Problems{*p}
	}
	var d Definition
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, Problems{decodeProblem(err)}
	}
	if err := d.check(); err != nil {
		return nil, err
	}
	d.index = buildIndex(&d)
	return &d, nil
}

// decodeProblem turns an encoding/json error into a Problem with a path.
func decodeProblem(err error) Problem {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		path := "$"
		if te.Field != "" {
			path += "." + te.Field
		}
		return Problem{Path: path, Code: ProblemInvalid, Args: map[string]any{"Value": te.Value}}
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return Problem{Path: "$", Code: ProblemInvalid, Args: map[string]any{"Value": "unknown field " + f}}
	}
	return Problem{Path: "$", Code: ProblemMalformed, Args: map[string]any{"Detail": msg}}
}

// check reports every problem of a decoded definition.
func (d *Definition) check() error {
	var ps problems
	if d.Format != Format {
		ps.add("$.format", ProblemInvalid, map[string]any{"Value": d.Format})
	}
	d.checkElection(&ps)
	langs := d.Election.Languages

	municipalities := map[string]bool{}
	if !checkListSize(&ps, "$.municipalities", len(d.Municipalities), maxMunicipalities) {
		return ps.err()
	}
	for i, m := range d.Municipalities {
		p := at("$.municipalities", i)
		checkCode(&ps, p+".code", m.Code, municipalities)
		checkNames(&ps, p+".name", m.Name, langs)
	}

	centres := map[string]bool{}
	centreMunicipality := map[string]string{}
	if tooMany(&ps, "$.voting_centres", len(d.VotingCentres), maxCentres) {
		return ps.err()
	}
	for i, c := range d.VotingCentres {
		p := at("$.voting_centres", i)
		checkCode(&ps, p+".code", c.Code, centres)
		checkRef(&ps, p+".municipality", c.Municipality, municipalities)
		checkText(&ps, p+".name", c.Name, MaxNameLength, true)
		centreMunicipality[c.Code] = c.Municipality
	}

	contests := map[string]bool{}
	if !checkListSize(&ps, "$.contests", len(d.Contests), maxContests) {
		return ps.err()
	}
	for i := range d.Contests {
		d.checkContest(&ps, at("$.contests", i), &d.Contests[i], contests, municipalities)
	}
	contestByCode := map[string]*Contest{}
	for i := range d.Contests {
		contestByCode[d.Contests[i].Code] = &d.Contests[i]
	}

	stations := map[string]bool{}
	if !checkListSize(&ps, "$.stations", len(d.Stations), maxStations) {
		return ps.err()
	}
	for i := range d.Stations {
		s := &d.Stations[i]
		p := at("$.stations", i)
		checkCode(&ps, p+".code", s.Code, stations)
		checkText(&ps, p+".name", s.Name, MaxNameLength, true)
		switch s.Kind {
		case Polling:
			if checkRef(&ps, p+".centre", s.Centre, centres) && s.Municipality != centreMunicipality[s.Centre] {
				ps.add(p+".municipality", ProblemInvalid, map[string]any{"Value": s.Municipality})
			}
			checkRange(&ps, p+".registered", s.Registered, 0, MaxRegistered)
		case Counting:
			checkRef(&ps, p+".municipality", s.Municipality, municipalities)
			if s.Centre != "" {
				ps.add(p+".centre", ProblemInvalid, map[string]any{"Value": s.Centre})
			}
			checkRange(&ps, p+".registered", s.Registered, 0, 0)
		default:
			ps.add(p+".kind", ProblemInvalid, map[string]any{"Value": string(s.Kind)})
		}
		d.checkForms(&ps, p, s, contestByCode)
	}
	return ps.err()
}

func (d *Definition) checkElection(ps *problems) {
	e := &d.Election
	if e.ID == "" {
		ps.add("$.election.id", ProblemRequired, nil)
	} else if !idPattern.MatchString(e.ID) {
		ps.add("$.election.id", ProblemInvalid, map[string]any{"Value": e.ID})
	}
	if e.Kind != Assembly && e.Kind != Municipal {
		ps.add("$.election.kind", ProblemInvalid, map[string]any{"Value": string(e.Kind)})
	}
	if _, err := time.Parse(time.DateOnly, e.Date); err != nil {
		ps.add("$.election.date", ProblemInvalid, map[string]any{"Value": e.Date})
	}
	if len(e.Languages) == 0 {
		ps.add("$.election.languages", ProblemRequired, nil)
	}
	tooMany(ps, "$.election.languages", len(e.Languages), maxLanguages)
	seen := map[string]bool{}
	for i, l := range e.Languages {
		p := at("$.election.languages", i)
		switch {
		case !langPattern.MatchString(l):
			ps.add(p, ProblemInvalid, map[string]any{"Value": l})
		case seen[l]:
			ps.add(p, ProblemDuplicate, map[string]any{"Value": l})
		}
		seen[l] = true
	}
	checkNames(ps, "$.election.name", e.Name, e.Languages)
	checkRange(ps, "$.election.out_of_country_voters", e.OutOfCountryVoters, 0, maxOutOfCountry)

	keys := map[string]string{
		"definition":  e.Keys.Definition,
		"receipt":     e.Keys.Receipt,
		"publication": e.Keys.Publication,
	}
	used := map[string]string{}
	for _, role := range []string{"definition", "receipt", "publication"} {
		p := "$.election.keys." + role
		k := keys[role]
		if k == "" {
			ps.add(p, ProblemRequired, nil)
			continue
		}
		if _, err := seal.ParsePublicKey(k); err != nil {
			ps.add(p, ProblemInvalid, map[string]any{"Value": k})
			continue
		}
		// One key, one purpose: a receipt key must never be able to sign
		// a definition.
		if other, ok := used[k]; ok {
			ps.add(p, ProblemDuplicate, map[string]any{"Value": "the " + other + " key"})
		}
		used[k] = role
	}

	if len(e.Servers) == 0 {
		ps.add("$.election.servers", ProblemRequired, nil)
	}
	tooMany(ps, "$.election.servers", len(e.Servers), maxServers)
	for i, s := range e.Servers {
		checkServer(ps, at("$.election.servers", i), s)
	}
}

// checkServer allows https with at least two distinct pins (a primary and a
// backup), and plain http only on the loopback interface.
func checkServer(ps *problems, p string, s Server) {
	u, err := url.Parse(s.URL)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		ps.add(p+".url", ProblemInvalid, map[string]any{"Value": s.URL})
		return
	}
	switch u.Scheme {
	case "https":
		if len(s.Pins) < 2 {
			ps.add(p+".pins", ProblemOutOfRange, map[string]any{"Value": len(s.Pins), "Min": 2, "Max": maxPins})
		}
	case "http":
		if !isLoopback(u.Hostname()) {
			ps.add(p+".url", ProblemInvalid, map[string]any{"Value": s.URL})
		}
	default:
		ps.add(p+".url", ProblemInvalid, map[string]any{"Value": s.URL})
	}
	tooMany(ps, p+".pins", len(s.Pins), maxPins)
	seen := map[string]bool{}
	for j, pin := range s.Pins {
		pp := at(p+".pins", j)
		b64, ok := strings.CutPrefix(pin, "sha256/")
		raw, err := base64.StdEncoding.Strict().DecodeString(b64)
		switch {
		case !ok || err != nil || len(raw) != 32:
			ps.add(pp, ProblemInvalid, map[string]any{"Value": pin})
		case seen[pin]:
			ps.add(pp, ProblemDuplicate, map[string]any{"Value": pin})
		}
		seen[pin] = true
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (d *Definition) checkContest(ps *problems, p string, c *Contest, seen, municipalities map[string]bool) {
	checkCode(ps, p+".code", c.Code, seen)
	checkNames(ps, p+".name", c.Name, d.Election.Languages)
	checkRange(ps, p+".seats", c.Seats, 1, maxSeats)
	switch {
	case d.Election.Kind == Assembly && c.Kind == ContestAssembly:
		if c.Municipality != "" {
			ps.add(p+".municipality", ProblemInvalid, map[string]any{"Value": c.Municipality})
		}
	case d.Election.Kind == Municipal && (c.Kind == ContestMayor || c.Kind == ContestMunicipalAssembly):
		checkRef(ps, p+".municipality", c.Municipality, municipalities)
	default:
		ps.add(p+".kind", ProblemInvalid, map[string]any{"Value": string(c.Kind)})
	}
	list := c.Kind != ContestMayor
	if list {
		checkRange(ps, p+".max_preferences", c.MaxPreferences, 1, maxPreferencesCap)
	} else {
		checkRange(ps, p+".max_preferences", c.MaxPreferences, 0, 0)
	}
	if len(c.Entities) == 0 {
		ps.add(p+".entities", ProblemRequired, nil)
	}
	if tooMany(ps, p+".entities", len(c.Entities), maxEntities) {
		return
	}
	numbers := map[int]bool{}
	for j := range c.Entities {
		e := &c.Entities[j]
		ep := at(p+".entities", j)
		checkNumber(ps, ep+".number", e.Number, numbers)
		checkText(ps, ep+".name", e.Name, MaxNameLength, true)
		switch {
		case !list && e.Kind == MayoralCandidate:
		case list && (e.Kind == Party || e.Kind == Coalition || e.Kind == Initiative || e.Kind == Independent):
		default:
			ps.add(ep+".kind", ProblemInvalid, map[string]any{"Value": string(e.Kind)})
		}
		if !list {
			if len(e.Candidates) > 0 {
				ps.add(ep+".candidates", ProblemTooMany, map[string]any{"Max": 0})
			}
			continue
		}
		if len(e.Candidates) == 0 {
			ps.add(ep+".candidates", ProblemRequired, nil)
		}
		if tooMany(ps, ep+".candidates", len(e.Candidates), maxCandidates) {
			continue
		}
		cands := map[int]bool{}
		for k, cand := range e.Candidates {
			cp := at(ep+".candidates", k)
			checkNumber(ps, cp+".number", cand.Number, cands)
			checkText(ps, cp+".name", cand.Name, MaxNameLength, true)
		}
	}
}

// checkForms: a polling station fills the results form of every contest on
// its ballot; a counting centre fills candidate forms of list contests.
func (d *Definition) checkForms(ps *problems, p string, s *Station, contests map[string]*Contest) {
	if tooMany(ps, p+".forms", len(s.Forms), maxFormsPerStation) {
		return
	}
	seen := map[FormRef]bool{}
	for j, f := range s.Forms {
		fp := at(p+".forms", j)
		c, ok := contests[f.Contest]
		if !ok {
			ps.add(fp+".contest", ProblemUnresolved, map[string]any{"Value": f.Contest})
			continue
		}
		if !inScope(c, s.Municipality) {
			ps.add(fp+".contest", ProblemInvalid, map[string]any{"Value": f.Contest})
		}
		switch {
		case s.Kind == Polling && f.Form == ResultsForm:
		case s.Kind == Counting && f.Form == CandidatesForm && c.MaxPreferences > 0:
		default:
			ps.add(fp+".form", ProblemInvalid, map[string]any{"Value": string(f.Form)})
		}
		if seen[f] {
			ps.add(fp, ProblemDuplicate, map[string]any{"Value": f.Contest + "/" + string(f.Form)})
		}
		seen[f] = true
	}
	if s.Kind != Polling {
		return
	}
	for _, c := range d.Contests {
		if inScope(&c, s.Municipality) && !seen[FormRef{Contest: c.Code, Form: ResultsForm}] {
			ps.add(p+".forms", ProblemRequired, map[string]any{"Value": c.Code})
		}
	}
}

// checkListSize requires a list to hold 1 to max entries; past max the
// list is not checked further.
func checkListSize(ps *problems, path string, n, max int) bool {
	if n == 0 {
		ps.add(path, ProblemRequired, nil)
	}
	return !tooMany(ps, path, n, max)
}

func tooMany(ps *problems, path string, n, max int) bool {
	if n > max {
		ps.add(path, ProblemTooMany, map[string]any{"Max": max})
		return true
	}
	return false
}

func checkCode(ps *problems, path, code string, seen map[string]bool) {
	switch {
	case code == "":
		ps.add(path, ProblemRequired, nil)
	case !codePattern.MatchString(code):
		ps.add(path, ProblemInvalid, map[string]any{"Value": code})
	case seen[code]:
		ps.add(path, ProblemDuplicate, map[string]any{"Value": code})
	}
	seen[code] = true
}

func checkNumber(ps *problems, path string, n int, seen map[int]bool) {
	if checkRange(ps, path, n, 1, maxBallotNumber) && seen[n] {
		ps.add(path, ProblemDuplicate, map[string]any{"Value": n})
	}
	seen[n] = true
}

func checkRef(ps *problems, path, code string, known map[string]bool) bool {
	switch {
	case code == "":
		ps.add(path, ProblemRequired, nil)
		return false
	case !known[code]:
		ps.add(path, ProblemUnresolved, map[string]any{"Value": code})
		return false
	}
	return true
}

func checkRange(ps *problems, path string, n, min, max int) bool {
	if n < min || n > max {
		ps.add(path, ProblemOutOfRange, map[string]any{"Value": n, "Min": min, "Max": max})
		return false
	}
	return true
}

func checkNames(ps *problems, path string, names Names, langs []string) {
	for _, l := range langs {
		if strings.TrimSpace(names[l]) == "" {
			ps.add(path, ProblemMissingLanguage, map[string]any{"Lang": l})
			continue
		}
		checkText(ps, path+"."+l, names[l], MaxNameLength, true)
	}
	for l := range names {
		if !contains(langs, l) {
			ps.add(path+"."+l, ProblemInvalid, map[string]any{"Value": l})
		}
	}
}

// checkText refuses empty required text, text over max characters, text
// that is not NFC-normalised and text with control characters.
func checkText(ps *problems, path, s string, max int, required bool) {
	switch {
	case required && strings.TrimSpace(s) == "":
		ps.add(path, ProblemRequired, nil)
	case utf8.RuneCountInString(s) > max:
		ps.add(path, ProblemTooLong, map[string]any{"Max": max})
	case !utf8.ValidString(s) || !norm.NFC.IsNormalString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0:
		ps.add(path, ProblemInvalid, map[string]any{"Value": s})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// index finds things by code once a definition has loaded.
type index struct {
	municipalities map[string]int
	centres        map[string]int
	stations       map[string]int
	contests       map[string]int
	layouts        map[layoutKey]*Layout
}

func buildIndex(d *Definition) *index {
	ix := &index{
		municipalities: make(map[string]int, len(d.Municipalities)),
		centres:        make(map[string]int, len(d.VotingCentres)),
		stations:       make(map[string]int, len(d.Stations)),
		contests:       make(map[string]int, len(d.Contests)),
		layouts:        map[layoutKey]*Layout{},
	}
	for i, m := range d.Municipalities {
		ix.municipalities[m.Code] = i
	}
	for i, c := range d.VotingCentres {
		ix.centres[c.Code] = i
	}
	for i, s := range d.Stations {
		ix.stations[s.Code] = i
	}
	for i, c := range d.Contests {
		ix.contests[c.Code] = i
		for _, f := range []FormKind{ResultsForm, CandidatesForm} {
			if f == CandidatesForm && c.MaxPreferences == 0 {
				continue
			}
			ix.layouts[layoutKey{c.Code, f}] = newLayout(&d.Contests[i], f)
		}
	}
	return ix
}
