package review_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"tally/app/review"
)

// FuzzParseOverview: whatever ParseOverview takes, encoding/json reads
// the same way, and it never panics.
func FuzzParseOverview(f *testing.F) {
	f.Add([]byte(`{"municipality":"01","name":{"sq":"Deçan"},"counts":{"received":1},"stations":[{"code":"01001A",` +
		`"name":"x","kind":"polling","municipality":"01","registered":740,"forms":[{"contest":"ASM","form":"results",` +
		`"state":"received","version":1,"digest":"` + sha(nil) + `"}]}]}`))
	f.Add([]byte(`{"municipality":"01"} {}`))
	f.Add([]byte(`{"municipality":"01","extra":1}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		o, err := review.ParseOverview(raw)
		if err != nil {
			return
		}
		var again review.Overview
		require.NoError(t, json.Unmarshal(raw, &again))
		a, _ := json.Marshal(o)
		b, _ := json.Marshal(&again)
		require.JSONEq(t, string(b), string(a))
	})
}

// FuzzParseStationRecord is FuzzParseOverview for a station's record.
func FuzzParseStationRecord(f *testing.F) {
	f.Add([]byte(`{"station":{"code":"01001A","name":"x","kind":"polling","municipality":"01","registered":740},` +
		`"forms":[],"submissions":[{"digest":"` + sha(nil) + `","contest":"ASM","form":"results","version":1,` +
		`"number":1,"received_at":"2026-10-04T19:00:00Z","sealed_at":"2026-10-04T18:59:00Z","key_id":"k","receipt":"AAEC"}],` +
		`"decisions":[],"conflicts":[]}`))
	f.Add([]byte(`{"station":{}}]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := review.ParseStationRecord(raw)
		if err != nil {
			return
		}
		var again review.StationRecord
		require.NoError(t, json.Unmarshal(raw, &again))
		a, _ := json.Marshal(r)
		b, _ := json.Marshal(&again)
		require.JSONEq(t, string(b), string(a))
	})
}
