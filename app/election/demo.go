package election

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
)

//go:embed kosovo-municipalities.csv
var municipalitiesCSV string

// DemoLanguages are the languages of the demo election, Albanian first.
var DemoLanguages = []string{"sq", "sr-Latn", "sr-Cyrl", "en", "tr"}

// Figures of the demo election, at the scale of Kosovo's recent elections.
const (
	DemoStations      = 2498
	DemoVotingCentres = 910
	// demoOutOfCountryShare: registered voters who vote by mail or abroad,
	// as a share of those on station lists. A station list holds at most
	// 750 voters, so 2,498 stations carry about 1.75 million; the rest of
	// Kosovo's roughly 2.0 million are on the out-of-country register.
	demoOutOfCountryShare = 0.12
)

// DemoOptions choose a demo election. The same options always give the
// same definition.
type DemoOptions struct {
	Seed    uint64
	Kind    Kind
	Keys    Keys     // the commission's public keys
	Servers []Server // where stations send; defaults to a local tallyd
}

type demoMunicipality struct {
	code             string
	sq, srL, srC, tr string
	population       int
}

func demoMunicipalities() ([]demoMunicipality, error) {
	rows, err := csv.NewReader(strings.NewReader(municipalitiesCSV)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("demo: municipalities: %w", err)
	}
	var out []demoMunicipality
	for i, r := range rows[1:] {
		if len(r) != 5 {
			return nil, fmt.Errorf("demo: municipalities line %d: want 5 columns, got %d", i+2, len(r))
		}
		pop, err := strconv.Atoi(r[4])
		if err != nil {
			return nil, fmt.Errorf("demo: municipalities line %d: population: %w", i+2, err)
		}
		tr := r[3]
		if tr == "" {
			tr = r[0]
		}
		out = append(out, demoMunicipality{
			code: fmt.Sprintf("%02d", i+1), sq: r[0], srL: r[1], srC: r[2], tr: tr, population: pop,
		})
	}
	return out, nil
}

// apportion splits total into parts proportional to weights (largest
// remainder), each part at least min.
func apportion(total int, weights []int, min int) []int {
	sum := 0
	for _, w := range weights {
		sum += w
	}
	parts := make([]int, len(weights))
	rest := total - min*len(weights)
	type rem struct {
		i int
		r float64
	}
	rems := make([]rem, len(weights))
	given := 0
	for i, w := range weights {
		exact := float64(rest) * float64(w) / float64(sum)
		parts[i] = min + int(exact)
		given += int(exact)
		rems[i] = rem{i, exact - float64(int(exact))}
	}
	sort.SliceStable(rems, func(a, b int) bool { return rems[a].r > rems[b].r })
	for k := 0; given < rest; k++ {
		parts[rems[k].i]++
		given++
	}
	return parts
}

// Demo generates a demo election at Kosovo's scale: the 38 municipalities,
// 910 voting centres, 2,498 polling stations, a counting centre per
// municipality and, for an assembly election, 28 entities with 1,280
// candidates; for a municipal election, a mayoral and a municipal-assembly
// contest in every municipality.
func Demo(o DemoOptions) (*Definition, error) {
	if o.Kind != Assembly && o.Kind != Municipal {
		return nil, fmt.Errorf("demo: kind %q is neither %q nor %q", o.Kind, Assembly, Municipal)
	}
	ms, err := demoMunicipalities()
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x7a11e1ec7))
	servers := o.Servers
	if len(servers) == 0 {
		servers = []Server{{URL: "http://127.0.0.1:8480"}}
	}
	d := &Definition{
		Format: Format,
		Election: Election{
			ID:        fmt.Sprintf("demo-%s-%d", o.Kind, o.Seed),
			Kind:      o.Kind,
			Date:      "2026-12-20",
			Languages: DemoLanguages,
			Keys:      o.Keys,
			Servers:   servers,
		},
	}
	if o.Kind == Assembly {
		d.Election.Name = Names{
			"sq": "Zgjedhjet për Kuvendin e Kosovës 2026 (demo)", "sr-Latn": "Izbori za Skupštinu Kosova 2026 (demo)",
			"sr-Cyrl": "Избори за Скупштину Косова 2026 (демо)", "en": "Kosovo Assembly Elections 2026 (demo)",
			"tr": "Kosova Meclisi Seçimleri 2026 (demo)",
		}
	} else {
		d.Election.Name = Names{
			"sq": "Zgjedhjet Lokale 2026 (demo)", "sr-Latn": "Lokalni izbori 2026 (demo)",
			"sr-Cyrl": "Локални избори 2026 (демо)", "en": "Local Elections 2026 (demo)",
			"tr": "Yerel Seçimler 2026 (demo)",
		}
	}

	pops := make([]int, len(ms))
	for i, m := range ms {
		pops[i] = m.population
		d.Municipalities = append(d.Municipalities, Municipality{Code: m.code, Name: Names{
			"sq": m.sq, "sr-Latn": m.srL, "sr-Cyrl": m.srC, "en": m.sq, "tr": m.tr,
		}})
	}
	d.Contests = demoContests(rng, o.Kind, ms)

	stations := apportion(DemoStations, pops, 2)
	centres := apportion(DemoVotingCentres, stations, 1)
	registered := 0
	for i, m := range ms {
		perCentre := spread(rng, stations[i], centres[i])
		for c, n := range perCentre {
			centre := VotingCentre{
				Code:         fmt.Sprintf("%s%03d", m.code, c+1),
				Municipality: m.code,
				Name:         demoCentreName(rng, m),
			}
			d.VotingCentres = append(d.VotingCentres, centre)
			for s := 0; s < n; s++ {
				letter := string(rune('A' + s))
				// Lists are split at 750 voters, so every station of a
				// centre but its last is nearly full.
				reg := 750 - int(40*pow4(rng.Float64()))
				if s == n-1 {
					reg = 500 + rng.IntN(251)
				}
				registered += reg
				d.Stations = append(d.Stations, Station{
					Code:         centre.Code + letter,
					Kind:         Polling,
					Municipality: m.code,
					Centre:       centre.Code,
					Name:         centre.Name + " – " + letter,
					Registered:   reg,
					Forms:        resultsForms(d.Contests, m.code),
				})
			}
		}
		d.Stations = append(d.Stations, Station{
			Code:         m.code + "CC",
			Kind:         Counting,
			Municipality: m.code,
			Name:         "Qendra Komunale e Numërimit – " + m.sq,
			Forms:        candidateForms(d.Contests, m.code),
		})
	}
	d.Election.OutOfCountryVoters = int(float64(registered)*demoOutOfCountryShare) / 100 * 100

	if err := d.check(); err != nil {
		return nil, fmt.Errorf("demo: generated definition does not load: %w", err)
	}
	d.index = buildIndex(d)
	return d, nil
}

func pow4(x float64) float64 { return x * x * x * x }

// spread puts n stations into k centres, each with at least one and at
// most 26 (A to Z).
func spread(rng *rand.Rand, n, k int) []int {
	out := make([]int, k)
	for i := range out {
		out[i] = 1
	}
	for left := n - k; left > 0; {
		i := rng.IntN(k)
		if out[i] < 26 {
			out[i]++
			left--
		}
	}
	return out
}

func demoCentreName(rng *rand.Rand, m demoMunicipality) string {
	if demoSerbMajority[m.sq] {
		return fmt.Sprintf("%s „%s”, %s", pick(rng, demoBuildingsSerbian), pick(rng, demoPatronsSerbian), m.srL)
	}
	return fmt.Sprintf("%s „%s”, %s", pick(rng, demoBuildingsAlbanian), pick(rng, demoPatronsAlbanian), m.sq)
}

func pick(rng *rand.Rand, list []string) string { return list[rng.IntN(len(list))] }

func demoPerson(rng *rand.Rand) string {
	return pick(rng, demoFirstNames) + " " + pick(rng, demoLastNames)
}

// demoContests makes the contests: one nationwide assembly contest, or a
// mayoral and a municipal-assembly contest per municipality.
func demoContests(rng *rand.Rand, kind Kind, ms []demoMunicipality) []Contest {
	if kind == Assembly {
		order := rng.Perm(len(demoEntities)) // ballot positions are drawn by lot
		entities := make([]Entity, len(demoEntities))
		for pos, i := range order {
			de := demoEntities[i]
			e := Entity{Number: pos + 1, Kind: de.kind, Name: de.name}
			for c := 1; c <= de.slate; c++ {
				name := demoPerson(rng)
				if de.kind == Independent {
					name = de.name
				}
				e.Candidates = append(e.Candidates, Candidate{Number: c, Name: name})
			}
			entities[pos] = e
		}
		return []Contest{{
			Code: "ASM", Kind: ContestAssembly, Seats: 120, MaxPreferences: 10, Entities: entities,
			Name: Names{"sq": "Kuvendi i Kosovës", "sr-Latn": "Skupština Kosova", "sr-Cyrl": "Скупштина Косова",
				"en": "Assembly of Kosovo", "tr": "Kosova Meclisi"},
		}}
	}
	var parties []demoEntity
	for _, e := range demoEntities {
		if e.kind != Independent {
			parties = append(parties, e)
		}
	}
	var out []Contest
	for _, m := range ms {
		mayor := Contest{
			Code: "MAY-" + m.code, Kind: ContestMayor, Municipality: m.code, Seats: 1,
			Name: Names{"sq": "Kryetari i Komunës " + m.sq, "sr-Latn": "Predsednik opštine " + m.srL,
				"sr-Cyrl": "Председник општине " + m.srC, "en": "Mayor of " + m.sq, "tr": m.tr + " Belediye Başkanı"},
		}
		for i, p := range rng.Perm(len(parties))[:3+rng.IntN(5)] {
			mayor.Entities = append(mayor.Entities, Entity{
				Number: i + 1, Kind: MayoralCandidate, Name: demoPerson(rng) + " (" + parties[p].name + ")",
			})
		}
		// Municipal assemblies have 15 seats, two more per 10,000
		// residents above 10,000, and 51 at most.
		seats := min(51, 15+2*max(0, (m.population-10000)/10000))
		assembly := Contest{
			Code: "MUN-" + m.code, Kind: ContestMunicipalAssembly, Municipality: m.code, Seats: seats,
			MaxPreferences: 1,
			Name: Names{"sq": "Kuvendi Komunal " + m.sq, "sr-Latn": "Skupština opštine " + m.srL,
				"sr-Cyrl": "Скупштина општине " + m.srC, "en": "Municipal Assembly of " + m.sq,
				"tr": m.tr + " Belediye Meclisi"},
		}
		for i, p := range rng.Perm(len(parties))[:6+rng.IntN(7)] {
			e := Entity{Number: i + 1, Kind: parties[p].kind, Name: parties[p].name}
			for c := 1; c <= seats/2+rng.IntN(seats/2+1); c++ {
				e.Candidates = append(e.Candidates, Candidate{Number: c, Name: demoPerson(rng)})
			}
			assembly.Entities = append(assembly.Entities, e)
		}
		out = append(out, mayor, assembly)
	}
	return out
}

func inScope(c *Contest, municipality string) bool {
	return c.Municipality == "" || c.Municipality == municipality
}

func resultsForms(contests []Contest, municipality string) []FormRef {
	var out []FormRef
	for i := range contests {
		if inScope(&contests[i], municipality) {
			out = append(out, FormRef{Contest: contests[i].Code, Form: ResultsForm})
		}
	}
	return out
}

func candidateForms(contests []Contest, municipality string) []FormRef {
	var out []FormRef
	for i := range contests {
		if inScope(&contests[i], municipality) && contests[i].MaxPreferences > 0 {
			out = append(out, FormRef{Contest: contests[i].Code, Form: CandidatesForm})
		}
	}
	return out
}
