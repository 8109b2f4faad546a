package election

import (
	"hash/fnv"
	"math/rand/v2"
)

// DemoForm fills a form of a station with plausible numbers on which no
// validation rule fires, deterministically from the seed: for training
// rooms, load tests and the demo. Turnout is 40–70 %, a few ballots are
// spoiled or invalid, the votes spread over the entities; on a candidate
// form, each entity's preference votes spread over its first candidates.
func DemoForm(d *Definition, l *Layout, st *Station, seed uint64) *Form {
	h := fnv.New64a()
	h.Write([]byte(st.Code + "/" + l.Contest.Code + "/" + string(l.Form)))
	rng := rand.New(rand.NewPCG(seed, h.Sum64()))
	f := &Form{Election: d.Election.ID, Station: st.Code, Contest: l.Contest.Code, Kind: l.Form,
		Counts: make(map[Field]int, len(l.Fields)), Members: MinMembers + rng.IntN(3),
		EnteredBy: "Arta Krasniqi", ReenteredBy: "Besnik Gashi"}
	a := st.Registered
	b := a * (40 + rng.IntN(31)) / 100
	if a > 0 && b == 0 {
		b = 1
	}
	spoiled, invalid := b/100, b/60
	unused := a/10 + rng.IntN(20)
	valid := b - invalid
	votes := splitVotes(rng, valid, len(l.entities))
	if l.Form == ResultsForm {
		c := f.Counts
		c[FieldA], c[FieldB], c[FieldC], c[FieldD], c[FieldE] = a, b, b+unused+spoiled, unused, spoiled
		c[FieldF], c[FieldG], c[FieldH] = b, invalid, valid
		for i, ef := range l.entities {
			c[ef] = votes[i]
		}
		return f
	}
	for i, ef := range l.entities {
		f.Counts[ef] = votes[i]
		prefs := votes[i] * (1 + rng.IntN(3)) // each voter marks one to three candidates
		cands := l.candidates[i]
		for j, cf := range cands {
			f.Counts[cf] = 0
			if j < min(len(cands), 5) {
				share := min(votes[i], prefs/(min(len(cands), 5)-j))
				f.Counts[cf] = share
				prefs -= share
			}
		}
	}
	return f
}

// splitVotes splits n over k parts, unevenly.
func splitVotes(rng *rand.Rand, n, k int) []int {
	out := make([]int, k)
	if k == 0 {
		return out
	}
	weights := make([]int, k)
	total := 0
	for i := range weights {
		weights[i] = 1 + rng.IntN(10)*rng.IntN(10)
		total += weights[i]
	}
	given := 0
	for i := range out {
		out[i] = n * weights[i] / total
		given += out[i]
	}
	out[0] += n - given
	return out
}
