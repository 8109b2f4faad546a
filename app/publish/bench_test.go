package publish_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"sync"
	"testing"
	"time"

	"tally/app/election"
	"tally/app/election/electiontest"
	"tally/app/publish"
)

// fullMunicipal is the whole demo municipal election with every form of
// every station sealed: 2,498 polling stations × 2 contests, and the
// counting centres' candidate forms.
func fullMunicipal(b *testing.B) (*election.Definition, []publish.Accepted) {
	b.Helper()
	full.Do(func() { full.def = mustLoad(electiontest.Options{Kind: election.Municipal}) })
	return full.def, allForms(b, full.def)
}

var full struct {
	sync.Once
	def *election.Definition
}

// BenchmarkAggregateSeal makes and seals a snapshot of the whole demo
// municipal election, as the publisher does every few seconds on
// election night.
func BenchmarkAggregateSeal(b *testing.B) {
	def, forms := fullMunicipal(b)
	key := publicationKey()
	var size int
	b.ResetTimer()
	for b.Loop() {
		s, err := publish.NewSnapshot(def, forms, 1, "", createdAt)
		if err != nil {
			b.Fatal(err)
		}
		raw, err := publish.Seal(s, key)
		if err != nil {
			b.Fatal(err)
		}
		size = len(raw)
	}
	b.ReportMetric(float64(len(forms)), "forms")
	b.ReportMetric(float64(size)/1e6, "MB")
}

// BenchmarkPublish is a whole rebuild of the publisher: aggregate, seal,
// gzip.
func BenchmarkPublish(b *testing.B) {
	def, forms := fullMunicipal(b)
	now := createdAt
	p, err := publish.NewPublisher(context.Background(), publish.Options{Definition: def, Key: publicationKey(),
		Source: func(context.Context) ([]publish.Accepted, error) { return forms, nil },
		Now:    func() time.Time { return now }, MinInterval: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	var last *publish.Published
	b.ResetTimer()
	for b.Loop() {
		forms[0].Review = map[publish.Review]publish.Review{publish.Received: publish.Approved, publish.Approved: publish.Received}[forms[0].Review]
		p.Changed()
		now = now.Add(time.Second)
		pub, err := p.Publish(context.Background())
		if err != nil || pub == nil {
			b.Fatal(err, pub)
		}
		last = pub
	}
	forms[0].Review = publish.Received
	b.ReportMetric(float64(len(last.Gzip()))/1e6, "gzip-MB")
}

// BenchmarkOpen is a reader's check of the whole snapshot: every station
// signature, every form, every sum.
func BenchmarkOpen(b *testing.B) {
	def, forms := fullMunicipal(b)
	s, err := publish.NewSnapshot(def, forms, 1, "", createdAt)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := publish.Seal(s, publicationKey())
	if err != nil {
		b.Fatal(err)
	}
	keys := stationKeys(b, def)
	pub := publicationKey().Public()
	b.ResetTimer()
	for b.Loop() {
		if _, err := publish.Open(raw, pub, def, keys); err != nil {
			b.Fatal(err)
		}
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	_, _ = w.Write(raw)
	_ = w.Close()
	b.ReportMetric(float64(gz.Len())/1e6, "gzip-MB")
}

// BenchmarkPublishAllChanged is a rebuild in which every form has a new
// head since the snapshot before, as in a bench round that sends every
// form again: nothing of the last snapshot's entries can be reused.
func BenchmarkPublishAllChanged(b *testing.B) {
	def, forms := fullMunicipal(b)
	other := make([]publish.Accepted, len(forms))
	for i, a := range forms {
		st, _ := def.Station(a.Station)
		f := form(b, def, st, election.FormRef{Contest: a.Contest, Form: a.Form}, 2)
		other[i] = sealForm(b, def, f, 2, a.Digest, publish.Received)
	}
	sets := [2][]publish.Accepted{forms, other}
	turn := 0
	now := createdAt
	p, err := publish.NewPublisher(context.Background(), publish.Options{Definition: def, Key: publicationKey(),
		Source: func(context.Context) ([]publish.Accepted, error) { return sets[turn%2], nil },
		Now:    func() time.Time { return now }, MinInterval: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		turn++
		p.Changed()
		now = now.Add(time.Second)
		if pub, err := p.Publish(context.Background()); err != nil || pub == nil {
			b.Fatal(err, pub)
		}
	}
	b.ReportMetric(float64(len(forms)), "forms")
}
