package soak_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"tally/app/election"
	"tally/sync/client"
	"tally/sync/faults"
	"tally/sync/faults/harness"
	"tally/sync/worker"
)

// BenchmarkDrainAfterReconnect: a station's full queue — both forms of a
// municipal election, each sealed three times (two corrections), each
// version with its photo — waits while nothing answers at the server's
// address (connections refused) and the worker keeps trying. The clock
// runs from the moment the server is reachable again to the moment the
// outbox is empty: every version delivered with a receipt that verifies.
// ms/drain is the mean over the iterations, p99-ms the 99th percentile,
// max-ms the worst; ms/photos runs until the photos are up too. The goal
// is a queue delivered within 2 s. Run with -benchtime=50x for a p99
// worth the name.
//
// DefaultBackoff is the desktop app's worker left to its own timer (an
// attempt within 1–2 s while no server answers); Wake is the same worker
// woken at once by the app when the network comes back; NoOutage sends
// the same queue to a server that was there all along, from the worker's
// start: the time the sending itself takes.
func BenchmarkDrainAfterReconnect(b *testing.B) {
	b.Run("DefaultBackoff", func(b *testing.B) { benchDrain(b, afterOutage) })
	b.Run("Wake", func(b *testing.B) { benchDrain(b, afterOutageWoken) })
	b.Run("NoOutage", func(b *testing.B) { benchDrain(b, noOutage) })
}

type benchMode int

const (
	afterOutage benchMode = iota
	afterOutageWoken
	noOutage
)

func benchDrain(b *testing.B, mode benchMode) {
	ctx := context.Background()
	dir := b.TempDir()
	cert, err := faults.NewCertificate("commission")
	if err != nil {
		b.Fatal(err)
	}
	backup, err := faults.NewCertificate("commission, backup")
	if err != nil {
		b.Fatal(err)
	}
	proxy, err := faults.NewTLSProxy("", cert)
	if err != nil {
		b.Fatal(err)
	}
	defer proxy.Close()
	// The queue travels as the app sends it: HTTPS, the key pinned.
	servers := []election.Server{{URL: proxy.URL(), Pins: []string{cert.Pin, backup.Pin}}}
	var el *harness.Election
	for n := 1; el == nil || len(el.PollingStations()) < b.N; n++ {
		if el != nil && n > len(el.Def.Municipalities)+1 {
			b.Fatalf("%d iterations, but the election has %d stations: lower -benchtime", b.N, len(el.PollingStations()))
		}
		if el, err = harness.NewElection(harness.ElectionOptions{Seed: 41, Servers: servers, Municipalities: n}); err != nil {
			b.Fatal(err)
		}
	}
	td, err := harness.Import(tallydBin, dir, el)
	if err != nil {
		b.Fatal(err)
	}
	if err := td.Start(); err != nil {
		b.Fatal(err)
	}
	defer td.Kill()
	proxy.SetUpstream(td.URL())
	enroller, err := client.New(client.Config{Servers: []election.Server{{URL: td.URL()}}, ElectionID: el.Def.Election.ID,
		ReceiptKey: el.ReceiptKey()})
	if err != nil {
		b.Fatal(err)
	}
	defer enroller.Close()

	var drains, withPhotos []time.Duration
	b.StopTimer()
	for i := range b.N {
		code := el.PollingStations()[i].Code
		st, err := harness.NewStation(ctx, filepath.Join(dir, code+".db"), el, code)
		if err != nil {
			b.Fatal(err)
		}
		if err := st.Enroll(ctx, enroller, el.Codes[code]); err != nil {
			b.Fatal(err)
		}
		queued := 0
		for round := 1; round <= 3; round++ {
			for _, f := range st.Forms() {
				if _, err := st.Seal(ctx, f, round); err != nil {
					b.Fatal(err)
				}
				queued++
			}
		}
		cl, err := client.New(client.Config{Servers: st.Def.Election.Servers, ElectionID: st.Def.Election.ID,
			ReceiptKey: st.Def.Election.Keys.Receipt, RootCAs: faults.Pool(cert)})
		if err != nil {
			b.Fatal(err)
		}

		rec := harness.NewRecorder()
		w := worker.New(st.Svc, cl, worker.Options{OnState: rec.OnState})
		w.SetKey(st.Key)
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		from := 0
		var back time.Time
		if mode == noOutage {
			b.StartTimer()
			back = time.Now()
			go func() { done <- w.Drain(runCtx) }()
		} else {
			// The network is away; the worker tries, and tries again (at
			// once, for the wake that SetKey left, or after its wait), and
			// then waits on its timer.
			proxy.Down()
			go func() { done <- w.Drain(runCtx) }()
			if i, _ := rec.Wait(0, time.Minute, func(s worker.State) bool {
				return !s.Online && s.Queued == queued && len(s.Items) > 0 && s.Items[0].Phase == worker.Waiting &&
					s.Items[0].Attempts >= 2
			}); i < 0 {
				b.Fatal("the worker never waited for the network")
			}
			from = rec.Len()
			b.StartTimer()
			back = time.Now()
			if err := proxy.Up(); err != nil {
				b.Fatal(err)
			}
			if mode == afterOutageWoken {
				w.Wake()
			}
		}
		_, s := rec.Wait(from, time.Minute, func(s worker.State) bool { return s.Queued == 0 })
		emptied := time.Now()
		err = <-done
		b.StopTimer()
		photosUp := time.Now()
		cancel()
		if s.Queued != 0 || err != nil {
			b.Fatalf("the outbox did not empty: %v, %+v", err, s)
		}
		drains = append(drains, emptied.Sub(back))
		withPhotos = append(withPhotos, photosUp.Sub(back))
		cl.Close()
		if err := st.File.Close(); err != nil {
			b.Fatal(err)
		}
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(mean(drains)), "ms/drain")
	b.ReportMetric(ms(percentile(drains, 0.99)), "p99-ms")
	b.ReportMetric(ms(slices.Max(drains)), "max-ms")
	b.ReportMetric(ms(mean(withPhotos)), "ms/photos")
	b.ReportMetric(0, "ns/op") // the clock above is what counts
}

func mean(ds []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

// percentile is the nearest-rank percentile.
func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}
