package publish_test

import (
	"testing"

	"tally/app/election/electiontest"
	"tally/app/publish"
	"tally/app/seal"
)

// FuzzOpen feeds Open's decoder and checks any payload at all, signed with
// the publication key so that it gets past the signature: it must never
// panic, and whatever it accepts must be of the election and numbered.
func FuzzOpen(f *testing.F) {
	def := mustLoad(electiontest.Options{Municipalities: 1})
	keys := stationKeys(f, def)
	previous := seal.Digest([]byte("snapshot 1"))
	s, err := publish.NewSnapshot(def, allForms(f, def)[:3], 2, previous, createdAt)
	if err != nil {
		f.Fatal(err)
	}
	raw, err := publish.Seal(s, publicationKey())
	if err != nil {
		f.Fatal(err)
	}
	env, err := seal.Parse(raw, publish.MaxSnapshotSize)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(env.Payload)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"format":"tally.results/v1","number":1,"election":"x","results":{"contests":[]}}`))
	f.Add([]byte(`{"format":"tally.results/v1","number":1} {}`))
	pub := publicationKey().Public()
	f.Fuzz(func(t *testing.T, payload []byte) {
		if len(payload) == 0 {
			return
		}
		sealed, err := seal.Sign(publish.PayloadType, payload, publicationKey())
		if err != nil {
			return
		}
		got, err := publish.Open(sealed, pub, def, keys)
		if err != nil {
			return
		}
		if got.Election != def.Election.ID || got.Number < 1 || got.Results == nil {
			t.Fatalf("accepted a snapshot of election %q numbered %d", got.Election, got.Number)
		}
	})
}
