package seal_test

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/seal"
)

// electionNight is the clock of the throttle tests.
var electionNight = time.Date(2025, 12, 28, 19, 0, 0, 0, time.UTC)

func TestThrottleDelays(t *testing.T) {
	want := []time.Duration{
		0, 0, // two typos are free
		1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
		16 * time.Second, 32 * time.Second, 64 * time.Second, 128 * time.Second,
		256 * time.Second, 512 * time.Second,
		15 * time.Minute, 15 * time.Minute,
	}
	var th seal.Throttle
	for i, d := range want {
		th.Fail(electionNight)
		assert.Equal(t, i+1, th.Failures)
		assert.Equal(t, electionNight.Add(d), th.NotBefore, "after %d failures", i+1)
	}
	t.Run("NoOverflow", func(t *testing.T) {
		for _, n := range []int{63, 64, 65, 1000, 1 << 40} {
			th := seal.Throttle{Failures: n - 1}
			th.Fail(electionNight)
			assert.Equal(t, electionNight.Add(seal.MaxThrottleDelay), th.NotBefore, "failures %d", n)
		}
	})
}

func TestThrottleCheck(t *testing.T) {
	failed := func(n int) seal.Throttle {
		var th seal.Throttle
		for range n {
			th.Fail(electionNight)
		}
		return th
	}

	t.Run("OK", func(t *testing.T) {
		var th seal.Throttle
		require.NoError(t, th.Check(electionNight))
		th = failed(2)
		require.NoError(t, th.Check(electionNight), "no wait after two failures")
	})
	t.Run("ErrTooSoon", func(t *testing.T) {
		th := failed(6) // 8 s
		err := th.Check(electionNight)
		var tooSoon *seal.TooSoonError
		require.ErrorAs(t, err, &tooSoon)
		assert.Equal(t, 8*time.Second, tooSoon.Wait)
		assert.EqualError(t, err, "too many wrong PINs: try again in 8s")
	})
	t.Run("ErrTooSoonRoundsUp", func(t *testing.T) {
		th := failed(6)
		err := th.Check(electionNight.Add(7*time.Second + 100*time.Millisecond))
		assert.EqualError(t, err, "too many wrong PINs: try again in 1s")
		err = th.Check(electionNight.Add(800 * time.Millisecond))
		assert.EqualError(t, err, "too many wrong PINs: try again in 8s")
	})
	t.Run("OKWhenDue", func(t *testing.T) {
		th := failed(6)
		assert.NoError(t, th.Check(electionNight.Add(8*time.Second)))
		assert.NoError(t, th.Check(electionNight.Add(time.Hour)))
	})
	t.Run("ClockPutRight", func(t *testing.T) {
		// A failure counted while the clock was a year ahead must not
		// lock the chair out for a year once the clock is right again.
		var th seal.Throttle
		wrongClock := electionNight.AddDate(1, 0, 0)
		for range 4 {
			th.Fail(wrongClock)
		}
		err := th.Check(electionNight)
		var tooSoon *seal.TooSoonError
		require.ErrorAs(t, err, &tooSoon)
		assert.Equal(t, 2*time.Second, tooSoon.Wait)
		assert.Equal(t, electionNight.Add(2*time.Second), th.NotBefore)
		assert.NoError(t, th.Check(electionNight.Add(2*time.Second)))
	})
	t.Run("Succeed", func(t *testing.T) {
		th := failed(9)
		th.Succeed()
		assert.Equal(t, seal.Throttle{}, th)
		assert.NoError(t, th.Check(electionNight))
	})
	t.Run("JSON", func(t *testing.T) {
		th := failed(5)
		raw, err := json.Marshal(th)
		require.NoError(t, err)
		assert.JSONEq(t, `{"failures":5,"not_before":"2025-12-28T19:00:04Z"}`, string(raw))
		var back seal.Throttle
		require.NoError(t, json.Unmarshal(raw, &back))
		assert.True(t, th.NotBefore.Equal(back.NotBefore))
		assert.Equal(t, th.Failures, back.Failures)
	})
}

func TestUnlock(t *testing.T) {
	vault := fixedVault()
	wrong := []byte("000001")

	t.Run("OK", func(t *testing.T) {
		th := seal.Throttle{Failures: 2, NotBefore: electionNight}
		k, err := seal.Unlock(&th, vault, testPIN, electionNight)
		require.NoError(t, err)
		assert.Equal(t, fixedKey(9).ID(), k.ID())
		assert.Equal(t, seal.Throttle{}, th, "a right PIN resets the throttle")
	})
	t.Run("ErrWrongPINCounts", func(t *testing.T) {
		var th seal.Throttle
		now := electionNight
		for i := 1; i <= 3; i++ {
			_, err := seal.Unlock(&th, vault, wrong, now)
			require.ErrorIs(t, err, seal.ErrWrongPIN, "attempt %d", i)
			assert.Equal(t, i, th.Failures)
		}
		// The third failure costs a second.
		_, err := seal.Unlock(&th, vault, testPIN, now)
		var tooSoon *seal.TooSoonError
		require.ErrorAs(t, err, &tooSoon, "even the right PIN waits")
		assert.Equal(t, time.Second, tooSoon.Wait)
		assert.Equal(t, 3, th.Failures, "a refused attempt is not a failure")

		now = now.Add(time.Second)
		_, err = seal.Unlock(&th, vault, wrong, now)
		require.ErrorIs(t, err, seal.ErrWrongPIN)
		_, err = seal.Unlock(&th, vault, testPIN, now.Add(time.Second))
		require.ErrorAs(t, err, &tooSoon)
		assert.Equal(t, time.Second, tooSoon.Wait)

		k, err := seal.Unlock(&th, vault, testPIN, now.Add(2*time.Second))
		require.NoError(t, err)
		assert.Equal(t, fixedKey(9).ID(), k.ID())
		assert.Equal(t, 0, th.Failures)
	})
	t.Run("ErrCorruptDoesNotCount", func(t *testing.T) {
		var th seal.Throttle
		_, err := seal.Unlock(&th, vault[:40], testPIN, electionNight)
		require.ErrorIs(t, err, seal.ErrVaultCorrupt)
		assert.Equal(t, seal.Throttle{}, th)
	})
	t.Run("ErrNoThrottle", func(t *testing.T) {
		_, err := seal.Unlock(nil, vault, testPIN, electionNight)
		require.Error(t, err)
	})
	t.Run("ManyGuessesTakeLong", func(t *testing.T) {
		// Guessing through 20 PINs as fast as the throttle allows.
		var th seal.Throttle
		now := electionNight
		for i := range 20 {
			if err := th.Check(now); err != nil {
				now = th.NotBefore
			}
			_, err := seal.Unlock(&th, vault, []byte("guess-"+strconv.Itoa(i)), now)
			require.ErrorIs(t, err, seal.ErrWrongPIN)
		}
		assert.Greater(t, now.Sub(electionNight), time.Hour)
	})
}
