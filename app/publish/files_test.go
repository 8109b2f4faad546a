package publish_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/publish"
	"tally/app/seal"
)

func TestFiles(t *testing.T) {
	def := smallMunicipal()
	forms := allForms(t, def)[1:] // the first station's first form is not in
	s, err := publish.NewSnapshot(def, forms, 1, "", createdAt)
	require.NoError(t, err)
	sealed, err := publish.Seal(s, publicationKey())
	require.NoError(t, err)
	files, err := publish.Files(def, s, sealed)
	require.NoError(t, err)
	byPath := map[string]publish.File{}
	for _, f := range files {
		byPath[f.Path] = f
	}

	t.Run("OKLayout", func(t *testing.T) {
		assert.Equal(t, "1/snapshot.json", files[0].Path)
		assert.Equal(t, sealed, files[0].Body)
		want := 3 + len(def.Municipalities) + 2*len(def.Contests)
		assert.Len(t, files, want)
		for _, m := range def.Municipalities {
			assert.Contains(t, byPath, publish.MunicipalityPath(1, m.Code))
		}
		for _, c := range def.Contests {
			st, mu := publish.CSVPaths(1, c.Code)
			assert.Contains(t, byPath, st)
			assert.Contains(t, byPath, mu)
		}
		for _, f := range files {
			assert.Equal(t, `"`+seal.Digest(f.Body)+`"`, f.ETag, f.Path)
			r, err := gzip.NewReader(bytes.NewReader(f.Gzip()))
			require.NoError(t, err)
			plain, err := io.ReadAll(r)
			require.NoError(t, err)
			assert.Equal(t, f.Body, plain, f.Path)
		}
	})

	t.Run("OKSummary", func(t *testing.T) {
		var sum publish.Summary
		require.NoError(t, json.Unmarshal(byPath["1/summary.json"].Body, &sum))
		assert.NotContains(t, string(byPath["1/summary.json"].Body), def.Contests[0].Name["sq"], "names are apart")
		var names publish.Names
		require.NoError(t, json.Unmarshal(byPath["1/names.json"].Body, &names))
		assert.Equal(t, publish.NamesFormat, names.Format)
		require.NoError(t, sum.WithNames(&names))
		assert.Equal(t, publish.SummaryFormat, sum.Format)
		assert.Equal(t, seal.Digest(sealed), sum.SnapshotDigest)
		require.Len(t, sum.Contests, len(def.Contests))
		for i, c := range sum.Contests {
			cr := contestResults(t, s.Results, c.Contest)
			assert.Equal(t, cr.National, c.National, c.Contest)
			assert.Len(t, c.Entities, len(cr.Entities))
			assert.Equal(t, def.Contests[i].Name, c.Name)
		}
		polling := 0
		for _, st := range def.Stations {
			if st.Kind == election.Polling {
				polling++
			}
		}
		assert.Equal(t, polling, sum.Reported.Stations)
		// The first form left out is the first station's first; its other
		// forms still count it as reported.
		assert.Equal(t, polling, sum.Reported.Reported)
		assert.Len(t, sum.Municipalities, len(def.Municipalities))
	})

	t.Run("OKMunicipality", func(t *testing.T) {
		m := def.Municipalities[0]
		var v publish.MunicipalityView
		require.NoError(t, json.Unmarshal(byPath[publish.MunicipalityPath(1, m.Code)].Body, &v))
		assert.Equal(t, m.Code, v.Municipality.Code)
		for _, mc := range v.Contests {
			c, ok := def.Contest(mc.Contest)
			require.True(t, ok)
			assert.Contains(t, []string{"", m.Code}, c.Municipality)
			cr := contestResults(t, s.Results, mc.Contest)
			assert.Equal(t, *tallyOf(t, cr.Municipalities, m.Code), mc.Municipality)
			sum := 0
			for _, st := range mc.Stations {
				sum += st.Valid
			}
			assert.Equal(t, mc.Municipality.Valid, sum)
		}
		for _, f := range v.Forms {
			st, ok := def.Station(f.Station)
			require.True(t, ok)
			assert.Equal(t, m.Code, st.Municipality)
		}
		assert.NotEmpty(t, v.Forms)
	})

	t.Run("OKSameBytes", func(t *testing.T) {
		again, err := publish.Files(def, s, sealed)
		require.NoError(t, err)
		require.Len(t, again, len(files))
		for i := range files {
			assert.Equal(t, files[i].Body, again[i].Body, files[i].Path)
		}
	})

	t.Run("CheckFiles", func(t *testing.T) {
		got := map[string][]byte{}
		for _, f := range files {
			got[f.Path] = f.Body
		}
		require.NoError(t, publish.CheckFiles(def, s, sealed, got))

		changed := map[string][]byte{}
		for k, v := range got {
			changed[k] = v
		}
		changed["1/summary.json"] = bytes.Replace(got["1/summary.json"], []byte(`"valid":`), []byte(`"valid":1`), 1)
		assert.ErrorContains(t, publish.CheckFiles(def, s, sealed, changed), "1/summary.json is not what the signed snapshot gives")

		delete(changed, "1/summary.json")
		assert.ErrorContains(t, publish.CheckFiles(def, s, sealed, changed), "1/summary.json is missing")

		changed["1/summary.json"] = got["1/summary.json"]
		changed["1/extra.json"] = []byte("{}")
		assert.ErrorContains(t, publish.CheckFiles(def, s, sealed, changed), "1/extra.json is not a file of the snapshot")
	})
}
