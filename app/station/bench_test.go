package station_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/election/electiontest"
	"tally/app/station"
	"tally/storage/stationdb"
)

// reportLatency adds the 50th and 99th percentiles of the timed calls.
func reportLatency(b *testing.B, took []time.Duration) {
	if len(took) == 0 {
		return
	}
	slices.Sort(took)
	at := func(p float64) float64 {
		return float64(took[min(len(took)-1, int(float64(len(took))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// BenchmarkSaveField is a commissioner leaving one field: the value and its
// audit record committed durably (synchronous=FULL, on the disk).
func BenchmarkSaveField(b *testing.B) {
	e := newEnv(b, election.Assembly)
	l := e.layout(asm)
	require.NoError(b, e.svc.Begin(e.ctx, asm, station.First, "Arta Krasniqi"))
	fields := l.Fields
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		// A different value each time, so that every call writes.
		err := e.svc.SaveField(e.ctx, asm, station.First, fields[i%len(fields)].ID, itoa(i%700))
		took = append(took, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
	}
	reportLatency(b, took)
}

// BenchmarkSealAndQueue is sealing an agreed form: validation, the
// envelope, the version and the outbox row in one durable transaction. The
// PIN's key derivation is not in it (Unlock, measured in app/seal).
func BenchmarkSealAndQueue(b *testing.B) {
	e := newEnv(b, election.Assembly)
	values := cleanValues(e.layout(asm), e.station)
	e.agree(asm, values)
	took := make([]time.Duration, 0, b.N)
	for b.Loop() {
		start := time.Now()
		_, err := e.svc.Seal(e.ctx, asm, e.key)
		took = append(took, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		require.NoError(b, e.svc.Correct(e.ctx, asm, "Arta Krasniqi"))
		require.NoError(b, e.svc.Finish(e.ctx, asm, station.First))
		require.NoError(b, e.svc.Enter(e.ctx, asm, station.Second, "Besnik Gashi", typed(values)))
		b.StartTimer()
	}
	reportLatency(b, took)
}

// BenchmarkOpenStore is the app starting on a station provisioned with the
// whole demo election: open the file, run the migrations check, verify the
// stored definition's signature and load it, and read the station's status.
func BenchmarkOpenStore(b *testing.B) {
	c := newCommission(b)
	_, full, err := electiontest.Election(electiontest.Options{})
	require.NoError(b, err)
	path := b.TempDir() + "/station.db"
	ctx := context.Background()
	db, err := stationdb.Open(ctx, path)
	require.NoError(b, err)
	svc := station.New(db, station.Options{KDF: testKDF})
	_, err = svc.Provision(ctx, station.ProvisionRequest{Definition: full,
		Fingerprint: c.fingerprint(), Station: stationCode, PIN: []byte(testPIN), By: "Arta Krasniqi"})
	require.NoError(b, err)
	require.NoError(b, db.Close())
	for b.Loop() {
		db, err := stationdb.Open(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := station.New(db, station.Options{}).Status(ctx); err != nil {
			b.Fatal(err)
		}
		require.NoError(b, db.Close())
	}
}
