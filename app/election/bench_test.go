package election_test

import (
	"encoding/json"
	"math/rand/v2"
	"sync"
	"testing"

	"tally/app/election"
	"tally/app/seal"
)

// The benchmarks run on the demo election at Kosovo's scale: a polling
// station's results form has 8 + 28 fields, the counting centre's
// candidates form of the assembly contest 28 + 1,280.

var loadDemo = sync.OnceValues(func() (*election.Definition, error) {
	return election.Demo(election.DemoOptions{Seed: 1, Kind: election.Assembly, Keys: commissionKeys()})
})

// maxEnvelopeSize leaves room for the base64 of a submission and its
// signature.
const maxEnvelopeSize = election.MaxSubmissionSize/3*4 + 64<<10

// demoForm is one form of the demo election with what the benchmarks need.
type demoForm struct {
	def     *election.Definition
	layout  *election.Layout
	station *election.Station
	form    *election.Form
}

// demoUnit finds the demo's first station of the kind that fills the form
// for the assembly contest, and the form's layout.
func demoUnit(tb testing.TB, kind election.StationKind, form election.FormKind) (*election.Definition, *election.Station, *election.Layout) {
	tb.Helper()
	d, err := loadDemo()
	if err != nil {
		tb.Fatal(err)
	}
	for i := range d.Stations {
		if st := &d.Stations[i]; st.Kind == kind && st.Fills("ASM", form) {
			l, err := d.Layout("ASM", form)
			if err != nil {
				tb.Fatal(err)
			}
			return d, st, l
		}
	}
	tb.Fatalf("the demo has no %s unit with a %s form for ASM", kind, form)
	return nil, nil, nil
}

// demoResultsForm returns the results form of the demo's first polling
// station for the assembly, filled in as on an ordinary election night:
// turnout 42%, a few spoiled ballots, 1.5% invalid, the valid votes spread
// unevenly over the 28 entities.
func demoResultsForm(tb testing.TB) demoForm {
	tb.Helper()
	d, st, l := demoUnit(tb, election.Polling, election.ResultsForm)
	rng := rand.New(rand.NewPCG(1, 2))
	a := st.Registered
	b := a * 42 / 100
	c, e, g := a+5, 3, b*15/1000
	h := b - g
	counts := map[election.Field]int{"A": a, "B": b, "C": c, "D": c - b - e, "E": e, "F": b, "G": g, "H": h}
	left := h
	for i, spec := range l.Fields[8:] {
		n := 0
		if i == len(l.Fields)-9 {
			n = left
		} else if left > 0 {
			n = rng.IntN(left/3 + 1)
		}
		counts[spec.ID] = n
		left -= n
	}
	f := &election.Form{
		Election: d.Election.ID, Station: st.Code, Contest: "ASM", Kind: election.ResultsForm,
		Counts: counts, Members: 5, PhotoSHA256: photoHash(st.Code),
		EnteredBy: "Arta Berisha", ReenteredBy: "Driton Shala",
		Remarks: "Votimi dhe numërimi u zhvilluan pa ankesa.",
	}
	return checkedDemoForm(tb, d, l, st, f)
}

// demoCandidatesForm returns the candidates form of the assembly contest
// of the demo's first counting centre, with a municipality's worth of
// votes and about two preference votes per vote.
func demoCandidatesForm(tb testing.TB) demoForm {
	tb.Helper()
	d, st, l := demoUnit(tb, election.Counting, election.CandidatesForm)
	rng := rand.New(rand.NewPCG(3, 4))
	counts := map[election.Field]int{}
	contest, _ := d.Contest("ASM")
	for _, e := range contest.Entities {
		votes := 50 + rng.IntN(20000)
		counts[election.EntityField(e.Number)] = votes
		per := 4*votes/len(e.Candidates) + 1
		for _, cand := range e.Candidates {
			counts[election.CandidateField(e.Number, cand.Number)] = min(votes, 1+rng.IntN(per))
		}
	}
	f := &election.Form{
		Election: d.Election.ID, Station: st.Code, Contest: "ASM", Kind: election.CandidatesForm,
		Counts: counts, Members: 7, PhotoSHA256: photoHash(st.Code),
		EnteredBy: "Milica Petrović", ReenteredBy: "Ilir Hoxha",
	}
	return checkedDemoForm(tb, d, l, st, f)
}

func checkedDemoForm(tb testing.TB, d *election.Definition, l *election.Layout, st *election.Station, f *election.Form) demoForm {
	tb.Helper()
	if _, _, err := f.Check(d); err != nil {
		tb.Fatal(err)
	}
	if len(f.Counts) != len(l.Fields) {
		tb.Fatalf("%d counts for %d fields", len(f.Counts), len(l.Fields))
	}
	if findings := election.Validate(l, st, f); len(findings) > 0 {
		tb.Fatalf("the benchmark form is not clean:%s", describe(findings))
	}
	return demoForm{def: d, layout: l, station: st, form: f}
}

func TestDemoForms(t *testing.T) {
	r := demoResultsForm(t)
	if n := len(r.layout.Fields); n != 8+28 {
		t.Errorf("results form: %d fields, want 36", n)
	}
	c := demoCandidatesForm(t)
	if n := len(c.layout.Fields); n != 28+1280 {
		t.Errorf("candidates form: %d fields, want 1,308", n)
	}
}

func benchmarkValidate(b *testing.B, df demoForm) {
	b.Run("rules", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if len(election.Validate(df.layout, df.station, df.form)) != 0 {
				b.Fatal("findings")
			}
		}
	})
	b.Run("check+rules", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			l, s, err := df.form.Check(df.def)
			if err != nil {
				b.Fatal(err)
			}
			if len(election.Validate(l, s, df.form)) != 0 {
				b.Fatal("findings")
			}
		}
	})
}

func BenchmarkValidateResultsForm(b *testing.B) { benchmarkValidate(b, demoResultsForm(b)) }

func BenchmarkValidateCandidatesForm(b *testing.B) { benchmarkValidate(b, demoCandidatesForm(b)) }

// stationKey is the key a demo station seals with.
func stationKey() *seal.PrivateKey { return fixedKey(10) }

func demoSubmission(df demoForm) *election.Submission {
	return &election.Submission{
		Format: election.SubmissionFormat, Form: *df.form, Version: 1, SealedAt: sealedAt, Sequence: 1,
	}
}

type namedForm struct {
	name string
	demoForm
}

func demoForms(b *testing.B) []namedForm {
	return []namedForm{{"results", demoResultsForm(b)}, {"candidates", demoCandidatesForm(b)}}
}

// BenchmarkSealSubmission: encoding and signing, the key already unlocked.
func BenchmarkSealSubmission(b *testing.B) {
	key := stationKey()
	for _, df := range demoForms(b) {
		s := demoSubmission(df.demoForm)
		b.Run(df.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				payload, err := json.Marshal(s)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := seal.Sign(election.SubmissionPayloadType, payload, key); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpenSubmission: what the server and the supervisor do with an
// envelope: verify, decode, check, validate.
func BenchmarkOpenSubmission(b *testing.B) {
	key := stationKey()
	ring, err := seal.NewKeyring(key.Public())
	if err != nil {
		b.Fatal(err)
	}
	for _, df := range demoForms(b) {
		payload := mustJSON(b, demoSubmission(df.demoForm))
		env, err := seal.Sign(election.SubmissionPayloadType, payload, key)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(df.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(env)))
			for b.Loop() {
				opened, err := seal.Open(env, maxEnvelopeSize, election.SubmissionPayloadType, ring)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := election.ParseSubmission(opened.Payload, df.def); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCompare: two entries that agree, so every field is compared.
func BenchmarkCompare(b *testing.B) {
	for _, df := range demoForms(b) {
		second := *df.form
		second.Counts = make(map[election.Field]int, len(df.form.Counts))
		for k, v := range df.form.Counts {
			second.Counts[k] = v
		}
		b.Run(df.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if d := election.Compare(df.layout, df.form, &second); len(d) != 0 {
					b.Fatal(d)
				}
			}
		})
	}
}
