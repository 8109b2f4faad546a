package publish_test

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/publish"
)

func TestCSV(t *testing.T) {
	def := smallAssembly()
	forms := allForms(t, def)[1:] // the first station has not reported
	s, err := publish.NewSnapshot(def, forms, 1, "", createdAt)
	require.NoError(t, err)
	cr := &s.Results.Contests[0]

	t.Run("OKStations", func(t *testing.T) {
		var b bytes.Buffer
		require.NoError(t, publish.WriteStationsCSV(&b, def, s, "ASM"))
		rows, err := csv.NewReader(bytes.NewReader(b.Bytes())).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 1+len(cr.Stations))
		header := rows[0]
		col := func(name string) int {
			for i, h := range header {
				if h == name {
					return i
				}
			}
			t.Fatalf("no column %s", name)
			return -1
		}
		first, second := rows[1], rows[2]
		assert.Equal(t, def.Stations[0].Code, first[col("station")])
		assert.Equal(t, "0", first[col("reported")])
		assert.Empty(t, first[col("digest")])
		assert.Equal(t, def.Stations[1].Code, second[col("station")])
		assert.Equal(t, "received", second[col("review")])
		assert.Equal(t, s.Stations[0].Digest, second[col("digest")])
		assert.Equal(t, strconv.Itoa(cr.Stations[1].Valid), second[col("valid")])
		n := cr.Entities[3]
		assert.Equal(t, strconv.Itoa(cr.Stations[1].Votes[3]), second[col("I."+strconv.Itoa(n))])

		var again bytes.Buffer
		require.NoError(t, publish.WriteStationsCSV(&again, def, s, "ASM"))
		assert.Equal(t, b.Bytes(), again.Bytes())
	})

	t.Run("OKMunicipalities", func(t *testing.T) {
		var b bytes.Buffer
		require.NoError(t, publish.WriteMunicipalitiesCSV(&b, s, "ASM"))
		rows, err := csv.NewReader(bytes.NewReader(b.Bytes())).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 1+len(def.Municipalities)+1)
		assert.Equal(t, []string{"ASM", "municipality", def.Municipalities[0].Code}, rows[1][:3])
		last := rows[len(rows)-1]
		assert.Equal(t, "national", last[1])
		assert.Equal(t, strconv.Itoa(cr.National.Voted), last[7])
		assert.Equal(t, "voted", rows[0][7])
	})

	t.Run("ErrNoContest", func(t *testing.T) {
		assert.Error(t, publish.WriteMunicipalitiesCSV(&bytes.Buffer{}, s, "MAY-01"))
		assert.Error(t, publish.WriteStationsCSV(&bytes.Buffer{}, def, s, "MAY-01"))
	})
}
