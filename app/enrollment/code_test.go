package enrollment_test

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/enrollment"
)

func TestNewCode(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		seen := map[string]bool{}
		for i := 0; i < 1000; i++ {
			c, err := enrollment.NewCode(rand.Reader)
			require.NoError(t, err)
			assert.Regexp(t, `^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$`, c)
			n, err := enrollment.Normalize(c)
			require.NoError(t, err)
			assert.Equal(t, c, n)
			assert.False(t, seen[c], "code drawn twice")
			seen[c] = true
		}
	})
	t.Run("ErrShortRandom", func(t *testing.T) {
		_, err := enrollment.NewCode(bytes.NewReader([]byte{1, 2, 3}))
		assert.Error(t, err)
	})
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"OK", "ABCDE-FGHJK-MNPQR", "ABCDE-FGHJK-MNPQR"},
		{"Lowercase", "abcde-fghjk-mnpqr", "ABCDE-FGHJK-MNPQR"},
		{"NoHyphens", "abcdefghjkmnpqr", "ABCDE-FGHJK-MNPQR"},
		{"Spaces", " abcde fghjk mnpqr ", "ABCDE-FGHJK-MNPQR"},
		{"LookAlikes", "OOOOO-IIIII-LLLLL", "00000-11111-11111"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := enrollment.Normalize(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	for _, tc := range []struct{ name, in string }{
		{"ErrEmpty", ""},
		{"ErrShort", "ABCDE-FGHJK-MNPQ"},
		{"ErrLong", "ABCDE-FGHJK-MNPQRS"},
		{"ErrLetterU", "ABCDE-FGHJK-MNPQU"},
		{"ErrPunctuation", "ABCDE.FGHJK.MNPQR"},
		{"ErrNonASCII", "ÄBCDE-FGHJK-MNPQR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := enrollment.Normalize(tc.in)
			assert.ErrorIs(t, err, enrollment.ErrMalformed)
		})
	}
}

func TestHash(t *testing.T) {
	h := enrollment.Hash("e1", enrollment.RoleStation, "01001A", "ABCDE-FGHJK-MNPQR")
	assert.Len(t, h, 64)
	assert.Equal(t, h, enrollment.Hash("e1", enrollment.RoleStation, "01001A", "ABCDE-FGHJK-MNPQR"))
	for name, other := range map[string]string{
		"election": enrollment.Hash("e2", enrollment.RoleStation, "01001A", "ABCDE-FGHJK-MNPQR"),
		"role":     enrollment.Hash("e1", enrollment.RoleSupervisor, "01001A", "ABCDE-FGHJK-MNPQR"),
		"unit":     enrollment.Hash("e1", enrollment.RoleStation, "01001B", "ABCDE-FGHJK-MNPQR"),
		"code":     enrollment.Hash("e1", enrollment.RoleStation, "01001A", "ABCDE-FGHJK-MNPQS"),
		"boundary": enrollment.Hash("e1", enrollment.RoleStation, "01001", "AABCDE-FGHJK-MNPQR"),
	} {
		assert.NotEqual(t, h, other, name)
	}
	assert.Equal(t, strings.ToLower(h), h)
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"ABCDE-FGHJK-MNPQR", "abcdefghjkmnpqr", "", "OIL", "ÄBCDE-FGHJK-MNPQR"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := enrollment.Normalize(s)
		if err != nil {
			return
		}
		again, err := enrollment.Normalize(n)
		if err != nil || again != n {
			t.Fatalf("Normalize(%q) = %q, not a fixed point (%q, %v)", s, n, again, err)
		}
	})
}
