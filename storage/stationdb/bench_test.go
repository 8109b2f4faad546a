package stationdb_test

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"tally/app/audit"
	"tally/app/election"
	"tally/app/station"
)

// BenchmarkPutValue is "save a field": one durable Update that stores a
// draft value and its audit record. The goal is p99 ≤ 5 ms.
func BenchmarkPutValue(b *testing.B) {
	db, _ := openDB(b)
	ctx := b.Context()
	fields := make([]election.Field, 40)
	for i := range fields {
		fields[i] = election.Field(fmt.Sprintf("I%d", i+1))
	}
	var took []time.Duration
	i := 0
	for b.Loop() {
		field, value := fields[i%len(fields)], i
		start := time.Now()
		err := db.Update(ctx, func(tx station.Tx) error {
			if err := tx.PutValue(results, 1, station.First, field, value, true); err != nil {
				return err
			}
			return tx.Audit(start, audit.Event{Action: "form.save_first", Subject: results.String(),
				Actor: "Arta Krasniqi", Details: map[string]any{"field": field, "value": value}})
		})
		took = append(took, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
	slices.Sort(took)
	percentile := func(p float64) float64 {
		return float64(took[int(math.Ceil(p*float64(len(took))))-1].Nanoseconds())
	}
	b.ReportMetric(percentile(0.50), "p50-ns")
	b.ReportMetric(percentile(0.99), "p99-ns")
}
