package election_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
)

func TestDemo(t *testing.T) {
	t.Run("OKAssembly", func(t *testing.T) {
		d := demo(t, election.Assembly, 2026)
		tt := d.Totals()
		assert.Equal(t, 38, tt.Municipalities)
		assert.Equal(t, election.DemoVotingCentres, tt.VotingCentres)
		assert.Equal(t, election.DemoStations, tt.PollingStations)
		assert.Equal(t, 38, tt.CountingCentres)
		assert.Equal(t, 1, tt.Contests)
		assert.Equal(t, 28, tt.Entities)
		assert.Equal(t, 1280, tt.Candidates)
		all := tt.Registered + tt.OutOfCountry
		assert.InDelta(t, 2_000_000, all, 100_000, "about 2.0 million voters")
		assert.Equal(t, tt.PollingStations+tt.CountingCentres, tt.Forms, "one form per polling station and counting centre")
		for _, s := range d.Stations {
			assert.LessOrEqual(t, s.Registered, election.MaxRegistered, s.Code)
			if s.Kind == election.Polling {
				assert.Greater(t, s.Registered, 0, s.Code)
				assert.Regexp(t, `^[0-9]{5}[A-Z]$`, s.Code)
			}
		}
		assert.Equal(t, "Deçan", d.Municipalities[0].Name["sq"])
		assert.Equal(t, "Дечани", d.Municipalities[0].Name["sr-Cyrl"])
	})

	t.Run("OKMunicipal", func(t *testing.T) {
		d := demo(t, election.Municipal, 2026)
		tt := d.Totals()
		assert.Equal(t, 76, tt.Contests)
		assert.Equal(t, election.DemoStations, tt.PollingStations)
		for _, s := range d.Stations {
			if s.Kind == election.Polling {
				require.Len(t, s.Forms, 2, s.Code)
				kinds := map[election.ContestKind]bool{}
				for _, f := range s.Forms {
					c, ok := d.Contest(f.Contest)
					require.True(t, ok)
					assert.Equal(t, s.Municipality, c.Municipality)
					kinds[c.Kind] = true
				}
				assert.True(t, kinds[election.ContestMayor] && kinds[election.ContestMunicipalAssembly], s.Code)
			} else {
				require.Len(t, s.Forms, 1, s.Code)
				assert.Equal(t, election.CandidatesForm, s.Forms[0].Form)
			}
		}
	})

	t.Run("OKDeterministic", func(t *testing.T) {
		a, err := json.Marshal(demo(t, election.Assembly, 7))
		require.NoError(t, err)
		b, err := json.Marshal(demo(t, election.Assembly, 7))
		require.NoError(t, err)
		c, err := json.Marshal(demo(t, election.Assembly, 8))
		require.NoError(t, err)
		assert.Equal(t, a, b, "the same seed gives the same election")
		assert.NotEqual(t, a, c, "another seed gives another election")
	})

	t.Run("ErrKind", func(t *testing.T) {
		keys, _ := demoKeys(t)
		_, err := election.Demo(election.DemoOptions{Kind: "referendum", Keys: keys})
		assert.ErrorContains(t, err, "referendum")
	})

	t.Run("ErrNoKeys", func(t *testing.T) {
		_, err := election.Demo(election.DemoOptions{Kind: election.Assembly})
		assert.ErrorContains(t, err, "$.election.keys.definition")
	})
}

func BenchmarkDemoGenerate(b *testing.B) {
	keys, _ := demoKeys(b)
	for _, kind := range []election.Kind{election.Assembly, election.Municipal} {
		b.Run(string(kind), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := election.Demo(election.DemoOptions{Seed: 1, Kind: kind, Keys: keys}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDemoLoad(b *testing.B) {
	for _, kind := range []election.Kind{election.Assembly, election.Municipal} {
		b.Run(string(kind), func(b *testing.B) {
			raw, err := json.Marshal(demo(b, kind, 1))
			require.NoError(b, err)
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := election.Load(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
