package reviewer

import (
	"math/rand/v2"
	"sort"
	"time"

	"tally/sync/worker"
)

// backoffWait is how long to wait after the n-th failed pass in a row
// (n ≥ 1), with the station's worker.Backoff: without an answer from any
// server, half to the whole of Offline; when a server answered with an
// error, a wait that doubles from Base to Max with full jitter, never less
// than the server's Retry-After. It is the station worker's rule, kept
// here because that worker does not export it.
func backoffWait(b worker.Backoff, n int, serverAnswered bool, retryAfter time.Duration, rng *rand.Rand) time.Duration {
	if !serverAnswered && retryAfter == 0 {
		return b.Offline/2 + time.Duration(rng.Int64N(int64(b.Offline/2)+1))
	}
	ceiling := b.Max
	if n < 30 {
		ceiling = min(b.Max, b.Base<<(n-1))
	}
	d := time.Duration(rng.Int64N(int64(ceiling) + 1))
	return max(d, retryAfter, b.Base/2)
}

func sortProblems(list []Problem) {
	sort.Slice(list, func(i, j int) bool { return list[i].Digest < list[j].Digest })
}
