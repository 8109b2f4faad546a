package election_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
)

func TestDemoForm(t *testing.T) {
	for _, kind := range []election.Kind{election.Assembly, election.Municipal} {
		d, err := election.Demo(election.DemoOptions{Seed: 7, Kind: kind, Keys: commissionKeys()})
		require.NoError(t, err)
		forms := 0
		for i := range d.Stations {
			st := &d.Stations[i]
			for _, ref := range st.Forms {
				l, err := d.Layout(ref.Contest, ref.Form)
				require.NoError(t, err)
				f := election.DemoForm(d, l, st, 7)
				_, _, err = f.Check(d)
				require.NoError(t, err, "%s %s", st.Code, ref.Contest)
				findings := election.Validate(l, st, f)
				// W.NO-PHOTO is the only finding: a demo form has no photo.
				for _, fd := range findings {
					require.Equal(t, "W.NO-PHOTO", fd.Code, "%s %s/%s: %+v", st.Code, ref.Contest, ref.Form, fd)
				}
				forms++
			}
		}
		assert.Greater(t, forms, 2400, kind)
		st := &d.Stations[0]
		l, err := d.Layout(st.Forms[0].Contest, st.Forms[0].Form)
		require.NoError(t, err)
		assert.Equal(t, election.DemoForm(d, l, st, 7), election.DemoForm(d, l, st, 7), "the same seed, the same form")
		assert.NotEqual(t, election.DemoForm(d, l, st, 7).Counts, election.DemoForm(d, l, st, 8).Counts)
	}
}
