package publish_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/publish"
	"tally/app/seal"
)

// fakeClock is moved on by the test alone.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// store stands in for the commission's store: the accepted forms so far.
type store struct {
	mu    sync.Mutex
	forms []publish.Accepted
	fail  error
	reads int
}

func (s *store) read(context.Context) ([]publish.Accepted, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	return append([]publish.Accepted(nil), s.forms...), s.fail
}

func (s *store) add(a ...publish.Accepted) {
	s.mu.Lock()
	s.forms = append(s.forms, a...)
	s.mu.Unlock()
}

// memoryArchive keeps archived snapshots in a map.
type memoryArchive struct {
	mu       sync.Mutex
	byN      map[uint64][]byte
	last     uint64
	appended chan uint64 // told of each number appended, if not nil
}

func (a *memoryArchive) Append(_ context.Context, sealed *publish.SealedSnapshot, _ *publish.Snapshot) error {
	n := sealed.Number
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.byN == nil {
		a.byN = map[uint64][]byte{}
	}
	if _, ok := a.byN[n]; ok {
		return errors.New("already archived")
	}
	a.byN[n], a.last = sealed.Raw, n
	if a.appended != nil {
		a.appended <- n
	}
	return nil
}

func (a *memoryArchive) Get(_ context.Context, n uint64) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if b, ok := a.byN[n]; ok {
		return b, nil
	}
	return nil, publish.ErrNotPublished
}

func (a *memoryArchive) Last(context.Context) (uint64, []byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last, a.byN[a.last], nil
}

type publisherEnv struct {
	pub   *publish.Publisher
	clock *fakeClock
	store *store
}

func newPublisher(t *testing.T, o publish.Options) *publisherEnv {
	t.Helper()
	e := &publisherEnv{clock: &fakeClock{now: createdAt}, store: &store{}}
	o.Definition, o.Key, o.Source, o.Now = smallAssembly(), publicationKey(), e.store.read, e.clock.Now
	if o.MinInterval == 0 {
		o.MinInterval = 5 * time.Second
	}
	var err error
	e.pub, err = publish.NewPublisher(context.Background(), o)
	require.NoError(t, err)
	return e
}

func TestPublisher(t *testing.T) {
	ctx := context.Background()
	def := smallAssembly()
	forms := allForms(t, def)
	keys := stationKeys(t, def)

	t.Run("OKRateLimitedNumberedChained", func(t *testing.T) {
		e := newPublisher(t, publish.Options{})
		_, ok := e.pub.Latest()
		assert.False(t, ok)

		first, err := e.pub.Publish(ctx)
		require.NoError(t, err)
		require.NotNil(t, first, "the first snapshot is made at once, even with nothing counted")
		assert.Equal(t, uint64(1), first.Number)

		again, err := e.pub.Publish(ctx)
		require.NoError(t, err)
		assert.Nil(t, again, "nothing changed")

		e.store.add(forms[:10]...)
		e.pub.Changed()
		wait, due := e.pub.Wait()
		assert.True(t, due)
		assert.Equal(t, 5*time.Second, wait)
		early, err := e.pub.Publish(ctx)
		require.NoError(t, err)
		assert.Nil(t, early, "not before MinInterval")
		assert.Equal(t, 1, e.store.reads)

		e.clock.Advance(4999 * time.Millisecond)
		early, err = e.pub.Publish(ctx)
		require.NoError(t, err)
		assert.Nil(t, early)

		e.clock.Advance(time.Millisecond)
		second, err := e.pub.Publish(ctx)
		require.NoError(t, err)
		require.NotNil(t, second)
		assert.Equal(t, uint64(2), second.Number)

		e.store.add(forms[10:20]...)
		e.pub.Changed()
		e.pub.Changed()
		e.clock.Advance(5 * time.Second)
		third, err := e.pub.Publish(ctx)
		require.NoError(t, err)
		require.NotNil(t, third)
		assert.Equal(t, uint64(3), third.Number, "many changes, one snapshot")

		e.pub.Changed() // a change that does not change what is counted
		e.clock.Advance(5 * time.Second)
		none, err := e.pub.Publish(ctx)
		require.NoError(t, err)
		assert.Nil(t, none)

		latest, ok := e.pub.Latest()
		require.True(t, ok)
		assert.Same(t, third, latest)

		// Each opens, and names the one before.
		prev := ""
		for n := uint64(1); n <= 3; n++ {
			p, err := e.pub.ByNumber(ctx, n)
			require.NoError(t, err)
			assert.Equal(t, n, p.Number)
			assert.Equal(t, seal.Digest(p.Sealed), p.Digest)
			assert.Equal(t, `"`+p.Digest+`"`, p.ETag)
			s, err := publish.Open(p.Sealed, publicationKey().Public(), def, keys)
			require.NoError(t, err)
			assert.Equal(t, n, s.Number)
			assert.Equal(t, prev, s.PreviousDigest)
			prev = p.Digest
			unzipped := gunzip(t, p.Gzip())
			assert.Equal(t, p.Sealed, unzipped)
		}
		s3, err := publish.Open(third.Sealed, publicationKey().Public(), def, keys)
		require.NoError(t, err)
		assert.Len(t, s3.Stations, 20)
		assert.Equal(t, createdAt.Add(10*time.Second), s3.CreatedAt)

		_, err = e.pub.ByNumber(ctx, 4)
		assert.ErrorIs(t, err, publish.ErrNotPublished)
		_, err = e.pub.ByNumber(ctx, 0)
		assert.ErrorIs(t, err, publish.ErrNotPublished)
	})

	t.Run("OKNeverChanged", func(t *testing.T) {
		e := newPublisher(t, publish.Options{Retain: 2})
		_, err := e.pub.Publish(ctx)
		require.NoError(t, err)
		one, err := e.pub.ByNumber(ctx, 1)
		require.NoError(t, err)
		kept := bytes.Clone(one.Sealed)
		for i := 0; i < 3; i++ {
			e.store.add(forms[i])
			e.pub.Changed()
			e.clock.Advance(time.Minute)
			p, err := e.pub.Publish(ctx)
			require.NoError(t, err)
			require.NotNil(t, p)
		}
		assert.Equal(t, kept, one.Sealed)
		assert.Equal(t, []uint64{3, 4}, e.pub.Numbers())
		_, err = e.pub.ByNumber(ctx, 1)
		assert.ErrorIs(t, err, publish.ErrNotRetained, "without an archive, only the latest are kept")
	})

	t.Run("OKArchive", func(t *testing.T) {
		archive := &memoryArchive{}
		e := newPublisher(t, publish.Options{Retain: 1, Archive: archive})
		_, err := e.pub.Publish(ctx)
		require.NoError(t, err)
		e.store.add(forms[0])
		e.pub.Changed()
		e.clock.Advance(time.Minute)
		two, err := e.pub.Publish(ctx)
		require.NoError(t, err)

		one, err := e.pub.ByNumber(ctx, 1)
		require.NoError(t, err, "read back from the archive")
		assert.Equal(t, archive.byN[1], one.Sealed)

		// A restart carries on from the archive: same content, no new
		// snapshot; new content, number 3 after number 2.
		restarted, err := publish.NewPublisher(ctx, publish.Options{Definition: def, Key: publicationKey(),
			Source: e.store.read, Now: e.clock.Now, Archive: archive})
		require.NoError(t, err)
		latest, ok := restarted.Latest()
		require.True(t, ok)
		assert.Equal(t, two.Sealed, latest.Sealed)
		p, err := restarted.Publish(ctx)
		require.NoError(t, err)
		assert.Nil(t, p)
		e.store.add(forms[1])
		restarted.Changed()
		e.clock.Advance(time.Minute)
		three, err := restarted.Publish(ctx)
		require.NoError(t, err)
		require.NotNil(t, three)
		s, err := publish.Open(three.Sealed, publicationKey().Public(), def, keys)
		require.NoError(t, err)
		assert.Equal(t, uint64(3), s.Number)
		assert.Equal(t, two.Digest, s.PreviousDigest)
	})

	t.Run("OKTwoPublishersOneArchive", func(t *testing.T) {
		// Two nodes on one database: the second finds the number taken,
		// serves the first's snapshot, and carries on from it.
		archive := &memoryArchive{}
		a := newPublisher(t, publish.Options{Archive: archive})
		b, err := publish.NewPublisher(ctx, publish.Options{Definition: def, Key: publicationKey(),
			Source: a.store.read, Now: a.clock.Now, MinInterval: 5 * time.Second, Archive: archive})
		require.NoError(t, err)
		a.store.add(forms[0])
		oneA, err := a.pub.Publish(ctx)
		require.NoError(t, err)
		require.NotNil(t, oneA)

		a.store.add(forms[1])
		oneB, err := b.Publish(ctx)
		require.NoError(t, err)
		require.NotNil(t, oneB)
		assert.Equal(t, oneA.Sealed, oneB.Sealed, "the archived snapshot 1, not b's own")
		wait, due := b.Wait()
		assert.True(t, due, "b counts again on top of it")
		a.clock.Advance(wait)
		two, err := b.Publish(ctx)
		require.NoError(t, err)
		require.NotNil(t, two)
		s, err := publish.Open(two.Sealed, publicationKey().Public(), def, keys)
		require.NoError(t, err)
		assert.Equal(t, uint64(2), s.Number)
		assert.Equal(t, oneA.Digest, s.PreviousDigest)
		assert.Len(t, s.Stations, 2)
	})

	t.Run("OKGivesWayWhenBusy", func(t *testing.T) {
		// A snapshot that took 3 s (the source read is slow: the machine
		// is busy) is followed by one 15 s later at the earliest, not 5 s.
		clock := &fakeClock{now: createdAt}
		st := &store{}
		p, err := publish.NewPublisher(ctx, publish.Options{Definition: def, Key: publicationKey(), Now: clock.Now,
			MinInterval: 5 * time.Second, MaxBusy: 0.2,
			Source: func(ctx context.Context) ([]publish.Accepted, error) {
				clock.Advance(3 * time.Second)
				return st.read(ctx)
			}})
		require.NoError(t, err)
		first, err := p.Publish(ctx)
		require.NoError(t, err)
		require.NotNil(t, first)
		st.add(forms[0])
		p.Changed()
		wait, due := p.Wait()
		require.True(t, due)
		assert.Equal(t, 12*time.Second, wait, "15 s after the attempt began, 3 s ago")
		clock.Advance(wait - time.Second)
		none, err := p.Publish(ctx)
		require.NoError(t, err)
		assert.Nil(t, none)
		clock.Advance(time.Second)
		second, err := p.Publish(ctx)
		require.NoError(t, err)
		require.NotNil(t, second)
	})

	t.Run("ErrSourceRetried", func(t *testing.T) {
		e := newPublisher(t, publish.Options{})
		e.store.fail = errors.New("database is locked")
		_, err := e.pub.Publish(ctx)
		assert.ErrorContains(t, err, "database is locked")
		wait, due := e.pub.Wait()
		assert.True(t, due, "still due")
		assert.Equal(t, 5*time.Second, wait)
		e.store.fail = nil
		e.clock.Advance(5 * time.Second)
		p, err := e.pub.Publish(ctx)
		require.NoError(t, err)
		require.NotNil(t, p)
		assert.Equal(t, uint64(1), p.Number)
	})

	t.Run("ErrWrongKey", func(t *testing.T) {
		_, err := publish.NewPublisher(ctx, publish.Options{Definition: def, Key: stationKey("x"),
			Source: (&store{}).read})
		assert.ErrorContains(t, err, "not the publication key")
	})

	t.Run("OKRun", func(t *testing.T) {
		waits := make(chan time.Duration)
		fire := make(chan time.Time)
		archive := &memoryArchive{appended: make(chan uint64, 1)}
		e := newPublisher(t, publish.Options{Archive: archive, After: func(d time.Duration) <-chan time.Time {
			waits <- d
			return fire
		}})
		first, err := e.pub.Publish(ctx)
		require.NoError(t, err)
		require.NotNil(t, first)
		ctx, cancel := context.WithCancel(ctx)
		done := make(chan error)
		go func() { done <- e.pub.Run(ctx) }()

		// A change: Run waits out MinInterval, then makes snapshot 2.
		e.store.add(forms[0])
		e.pub.Changed()
		d := <-waits
		assert.Equal(t, 5*time.Second, d)
		e.clock.Advance(d)
		require.Equal(t, uint64(1), <-archive.appended)
		fire <- e.clock.Now()
		require.Equal(t, uint64(2), <-archive.appended)
		// Another change after snapshot 2 was made: Run waits again.
		e.pub.Changed()
		assert.Equal(t, 5*time.Second, <-waits)
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled)
		latest, ok := e.pub.Latest()
		require.True(t, ok)
		s, err := publish.Open(latest.Sealed, publicationKey().Public(), def, keys)
		require.NoError(t, err)
		assert.Len(t, s.Stations, 1)
	})
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(b))
	require.NoError(t, err)
	out, err := io.ReadAll(r)
	require.NoError(t, err)
	return out
}
