package seal

import (
	"errors"
	"fmt"
	"time"
)

// MaxThrottleDelay is the longest wait after wrong PINs.
const MaxThrottleDelay = 15 * time.Minute

// freeFailures is how many wrong PINs in a row cost no wait: a typo or two
// is normal at the end of a long day.
const freeFailures = 2

// Throttle rate-limits PIN attempts on a station: after the first two
// wrong PINs in a row, each one makes the next attempt wait twice as long
// as the one before (1 s, 2 s, 4 s, …), up to MaxThrottleDelay. Its fields
// are exported so the station can store it across restarts; a throttle
// that is forgotten on restart would be no throttle at all.
//
// The throttle slows guessing in the app; it cannot stop anyone who copies
// the vault file. That is the KDF's job (see DefaultKDF).
type Throttle struct {
	Failures  int       `json:"failures"`
	NotBefore time.Time `json:"not_before"`
}

// TooSoonError is returned by Check while the throttle makes the user wait.
type TooSoonError struct {
	Wait time.Duration
}

func (e *TooSoonError) Error() string {
	return fmt.Sprintf("too many wrong PINs: try again in %s", e.Wait)
}

// Check returns a *TooSoonError if no attempt is allowed at now.
//
// The wait is never longer than the delay that the number of failures
// calls for: if the clock was wrong (ahead) when a failure was counted and
// has been put right since, the deadline is moved back to now plus that
// delay, rather than locking the chair out until the wrong date. Store the
// throttle after Check, since it may change it.
func (t *Throttle) Check(now time.Time) error {
	wait := t.NotBefore.Sub(now)
	if wait <= 0 {
		return nil
	}
	if d := failureDelay(t.Failures); wait > d {
		t.NotBefore = now.Add(d)
		wait = d
		if wait <= 0 {
			return nil
		}
	}
	// Whole seconds, rounded up: "try again in 8s", never "in 0s".
	return &TooSoonError{Wait: (wait + time.Second - 1).Truncate(time.Second)}
}

// Fail counts one more wrong PIN at now.
func (t *Throttle) Fail(now time.Time) {
	t.Failures++
	t.NotBefore = now.Add(failureDelay(t.Failures))
}

// Succeed forgets the failures after a right PIN.
func (t *Throttle) Succeed() {
	*t = Throttle{}
}

// failureDelay is the wait after n wrong PINs in a row.
func failureDelay(n int) time.Duration {
	if n <= freeFailures {
		return 0
	}
	shift := n - freeFailures - 1
	// 2^10 s already exceeds the cap; stop before the shift overflows.
	if shift >= 10 {
		return MaxThrottleDelay
	}
	return min(time.Second<<shift, MaxThrottleDelay)
}

// Unlock opens a vault with pin under the throttle t, as of now: it refuses
// to try while t makes the user wait, counts a wrong PIN as a failure and
// a right one as a success. A corrupt vault is not the user's fault and
// counts as neither. Store t afterwards, whatever the outcome.
func Unlock(t *Throttle, data, pin []byte, now time.Time) (*PrivateKey, error) {
	if t == nil {
		return nil, errors.New("vault: unlock without a throttle")
	}
	if err := t.Check(now); err != nil {
		return nil, err
	}
	key, err := OpenVault(data, pin)
	switch {
	case errors.Is(err, ErrWrongPIN):
		t.Fail(now)
		return nil, err
	case err != nil:
		return nil, err
	}
	t.Succeed()
	return key, nil
}
