package server

import (
	"sync"
	"time"
)

// Rate is a token bucket's refill rate and size: Burst requests at once,
// then PerSecond on average.
type Rate struct {
	PerSecond float64
	Burst     int
}

// limiter keeps one token bucket per name (a key id, a client address).
// It lives in one node's memory: with several nodes behind a balancer each
// grants the rate, which bounds abuse well enough and needs no shared
// state.
type limiter struct {
	rate Rate
	now  func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxBuckets bounds the limiter's memory; past it, buckets that have
// refilled completely are forgotten (a full bucket is what a new one is).
const maxBuckets = 100_000

func newLimiter(r Rate, now func() time.Time) *limiter {
	return &limiter{rate: r, now: now, buckets: map[string]*bucket{}}
}

// allow takes a token from name's bucket. When there is none it returns
// false and how long until there is one.
func (l *limiter) allow(name string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[name]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.sweep(now)
		}
		b = &bucket{tokens: float64(l.rate.Burst), last: now}
		l.buckets[name] = b
	}
	l.refill(b, now)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	if l.rate.PerSecond <= 0 {
		return false, time.Hour
	}
	wait := time.Duration((1 - b.tokens) / l.rate.PerSecond * float64(time.Second))
	return false, max(wait, time.Second)
}

func (l *limiter) refill(b *bucket, now time.Time) {
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(float64(l.rate.Burst), b.tokens+elapsed.Seconds()*l.rate.PerSecond)
		b.last = now
	}
}

// sweep forgets the buckets that are full again.
func (l *limiter) sweep(now time.Time) {
	for name, b := range l.buckets {
		l.refill(b, now)
		if b.tokens >= float64(l.rate.Burst) {
			delete(l.buckets, name)
		}
	}
}
