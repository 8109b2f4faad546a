package worker

import (
	"math/rand/v2"
	"time"
)

// Backoff spaces the attempts at one submission. Without an answer from
// the server (no network, a captive portal, a reset) the worker tries
// again soon, so that a queue goes out within seconds of the network
// coming back; when the server answers that it is busy or failing, the
// wait doubles from Base to Max, with full jitter so that 2,500 stations
// do not come back in step, and never less than the server's Retry-After.
// There is no limit on the number of attempts.
type Backoff struct {
	Base    time.Duration // first wait after a server's error: 1 s
	Max     time.Duration // longest wait: 5 min
	Offline time.Duration // wait while no server answers: 0.75–1.5 s
}

// DefaultBackoff is the backoff of the desktop app and `tally sync`.
var DefaultBackoff = Backoff{Base: time.Second, Max: 5 * time.Minute, Offline: 1500 * time.Millisecond}

// wait is how long to wait after the n-th failed attempt in a row (n ≥ 1).
func (b Backoff) wait(n int, serverAnswered bool, retryAfter time.Duration, rng *rand.Rand) time.Duration {
	if !serverAnswered && retryAfter == 0 {
		// Half to the whole of Offline: soon, but not in step.
		return b.Offline/2 + time.Duration(rng.Int64N(int64(b.Offline/2)+1))
	}
	ceiling := b.Max
	if n < 30 {
		ceiling = min(b.Max, b.Base<<(n-1))
	}
	d := time.Duration(rng.Int64N(int64(ceiling) + 1))
	return max(d, retryAfter, b.Base/2)
}
