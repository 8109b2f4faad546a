package publish

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"tally/app/election"
	"tally/app/seal"
)

// Errors of Publisher.ByNumber.
var (
	ErrNotPublished = errors.New("publish: no snapshot with that number was published")
	ErrNotRetained  = errors.New("publish: the snapshot is no longer kept")
)

// DefaultMinInterval is the least time between two snapshots unless
// Options say otherwise.
const DefaultMinInterval = 5 * time.Second

// DefaultMaxBusy is the share of time a publisher spends making snapshots
// at most unless Options say otherwise.
const DefaultMaxBusy = 0.5

// DefaultRetain is how many of the latest snapshots are kept in memory
// unless Options say otherwise.
const DefaultRetain = 32

// Source reads what the commission stored: the versions of every form to
// count (at least each form's head) with their review (see Accepted).
type Source func(ctx context.Context) ([]Accepted, error)

// Archive keeps every published snapshot beyond those in memory: the
// server backs it with its database, so that a snapshot's number always
// names the same bytes, across restarts too.
type Archive interface {
	// Append stores a sealed snapshot durably before it is served; s is
	// what it holds, decoded.
	Append(ctx context.Context, sealed *SealedSnapshot, s *Snapshot) error
	// Get reads a stored snapshot; ErrNotPublished if there is none.
	Get(ctx context.Context, number uint64) ([]byte, error)
	// Last reads the latest stored snapshot; 0 and nil if there is none.
	Last(ctx context.Context) (uint64, []byte, error)
}

// Options configure a Publisher.
type Options struct {
	Definition *election.Definition
	// Key is the commission's publication key, the one the definition
	// names.
	Key    *seal.PrivateKey
	Source Source
	// MinInterval is the least time between two snapshots;
	// DefaultMinInterval if zero.
	MinInterval time.Duration
	// MaxBusy bounds the share of time spent making snapshots: after one
	// took d, the next waits at least d/MaxBusy, so that on a busy
	// machine publication gives way to ingest. DefaultMaxBusy if zero.
	MaxBusy float64
	// Retain is how many of the latest snapshots are kept in memory;
	// DefaultRetain if zero. Older ones are read from the Archive.
	Retain  int
	Archive Archive // optional
	// Now is the clock; time.Now if nil.
	Now func() time.Time
	// After waits for Run; time.After if nil.
	After func(time.Duration) <-chan time.Time
	// OnError hears of a snapshot Run failed to make; it tries again
	// after MinInterval.
	OnError func(error)
	// OnPublish hears of each snapshot Run made, and how long it took.
	OnPublish func(p *Published, took time.Duration)
}

// Published is a sealed snapshot ready to serve: its bytes, gzipped once,
// and every file derived from it (see Files).
type Published struct {
	Number    uint64
	Digest    string // seal.Digest of Sealed
	ETag      string // the digest, quoted, as an HTTP entity tag
	CreatedAt time.Time
	Sealed    []byte // the DSSE envelope, application/json
	Files     []File // Files' output: N/snapshot.json (Sealed) first
	byPath    map[string]*File
}

// Gzip is Sealed, gzip-compressed (when first asked for).
func (p *Published) Gzip() []byte { return p.Files[0].Gzip() }

// File is one of the snapshot's files, by its path under the root
// ("7/summary.json").
func (p *Published) File(path string) (*File, bool) {
	f, ok := p.byPath[path]
	return f, ok
}

// Publisher makes snapshots when told something changed, at most one every
// MinInterval, numbers them consecutively, chains each to the one before,
// and never changes one once published.
type Publisher struct {
	o        Options
	wake     chan struct{}
	building sync.Mutex // one snapshot at a time
	entries  entryCache // the latest snapshot's entries, under building

	mu          sync.Mutex
	dirty       bool
	lastAttempt time.Time
	lastTook    time.Duration // how long the last attempt took
	latest      *Published
	content     string // what the latest snapshot counted, see contentKey
	kept        map[uint64]*Published
}

// NewPublisher makes a publisher. With an Archive, it carries on from the
// latest archived snapshot.
func NewPublisher(ctx context.Context, o Options) (*Publisher, error) {
	if o.Definition == nil || o.Key == nil || o.Source == nil {
		return nil, errors.New("publish: a publisher needs the definition, the publication key and a source")
	}
	if got := seal.EncodePublicKey(o.Key.Public()); got != o.Definition.Election.Keys.Publication {
		return nil, fmt.Errorf("publish: key %s is not the publication key the election names", o.Key.ID())
	}
	if o.MinInterval <= 0 {
		o.MinInterval = DefaultMinInterval
	}
	if o.Retain <= 0 {
		o.Retain = DefaultRetain
	}
	if o.MaxBusy <= 0 || o.MaxBusy > 1 {
		o.MaxBusy = DefaultMaxBusy
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
	p := &Publisher{o: o, wake: make(chan struct{}, 1), dirty: true, kept: map[uint64]*Published{}}
	if o.Archive != nil {
		n, sealed, err := o.Archive.Last(ctx)
		if err != nil {
			return nil, fmt.Errorf("publish: read the latest archived snapshot: %w", err)
		}
		if n > 0 {
			pub, snap, err := p.published(sealed)
			if err != nil {
				return nil, fmt.Errorf("publish: archived snapshot %d: %w", n, err)
			}
			p.content = contentKey(snap)
			if pub.Number != n {
				return nil, fmt.Errorf("publish: archived snapshot %d holds number %d", n, pub.Number)
			}
			p.latest = pub
			p.kept[n] = pub
		}
	}
	p.wake <- struct{}{}
	return p, nil
}

// Changed tells the publisher that what the commission accepted changed.
func (p *Publisher) Changed() {
	p.mu.Lock()
	p.dirty = true
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Wait is how long until the next snapshot may be made, and whether one is
// due at all.
func (p *Publisher) Wait() (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitLocked()
}

func (p *Publisher) waitLocked() (time.Duration, bool) {
	if !p.dirty {
		return 0, false
	}
	if p.lastAttempt.IsZero() {
		return 0, true
	}
	gap := max(p.o.MinInterval, time.Duration(float64(p.lastTook)/p.o.MaxBusy))
	return max(0, p.lastAttempt.Add(gap).Sub(p.o.Now())), true
}

// Publish makes a new snapshot if something changed and MinInterval has
// passed since the last attempt. It returns the new snapshot, or nil when
// none was due or what is counted is what the latest snapshot counted.
// Readers are not held up while it builds.
func (p *Publisher) Publish(ctx context.Context) (*Published, error) {
	p.building.Lock()
	defer p.building.Unlock()
	p.mu.Lock()
	if wait, due := p.waitLocked(); !due || wait > 0 {
		p.mu.Unlock()
		return nil, nil
	}
	p.dirty = false
	p.lastAttempt = p.o.Now()
	at, latest, content := p.lastAttempt, p.latest, p.content
	p.mu.Unlock()

	pub, content, err := p.build(ctx, at, latest, content)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastTook = max(0, p.o.Now().Sub(at))
	if err != nil {
		p.dirty = true
		return nil, err
	}
	if pub == nil {
		return nil, nil
	}
	p.latest, p.content = pub, content
	p.kept[pub.Number] = pub
	for n := range p.kept {
		if n+uint64(p.o.Retain) <= pub.Number {
			delete(p.kept, n)
		}
	}
	return pub, nil
}

// build makes, seals and archives the snapshot after latest, unless it
// would count what latest counted.
func (p *Publisher) build(ctx context.Context, at time.Time, latest *Published, latestContent string) (*Published, string, error) {
	accepted, err := p.o.Source(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("publish: read the accepted forms: %w", err)
	}
	number, previous := uint64(1), ""
	if latest != nil {
		number, previous = latest.Number+1, latest.Digest
	}
	s, err := NewSnapshot(p.o.Definition, accepted, number, previous, at)
	if err != nil {
		return nil, "", err
	}
	content := contentKey(s)
	if latest != nil && content == latestContent {
		return nil, "", nil
	}
	sealed, err := sealWith(s, p.o.Key, &p.entries)
	if err != nil {
		return nil, "", err
	}
	pub, err := ready(p.o.Definition, s, sealed.Raw, sealed.Digest)
	if err != nil {
		return nil, "", err
	}
	if p.o.Archive != nil {
		if err := p.o.Archive.Append(ctx, sealed, s); err != nil {
			// Another node on the same database may have published this
			// number first: serve its snapshot, and count again on top of
			// it next time.
			if adopted, adoptedContent, ok := p.adopt(ctx, number); ok {
				p.mu.Lock()
				p.dirty = true
				p.mu.Unlock()
				return adopted, adoptedContent, nil
			}
			return nil, "", fmt.Errorf("publish: archive snapshot %d: %w", number, err)
		}
	}
	return pub, content, nil
}

// adopt reads the archive's latest snapshot when it is number or later:
// one another publisher stored.
func (p *Publisher) adopt(ctx context.Context, number uint64) (*Published, string, bool) {
	n, sealed, err := p.o.Archive.Last(ctx)
	if err != nil || n < number {
		return nil, "", false
	}
	pub, snap, err := p.published(sealed)
	if err != nil || pub.Number != n {
		return nil, "", false
	}
	return pub, contentKey(snap), true
}

// contentKey sums up what a snapshot counts: its results follow from the
// counted envelopes and their review alone.
func contentKey(s *Snapshot) string {
	h := sha256.New()
	for _, e := range s.Stations {
		h.Write([]byte(e.Digest + " " + string(e.Review) + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// published readies sealed snapshot bytes read back from the archive.
func (p *Publisher) published(sealed []byte) (*Published, *Snapshot, error) {
	env, err := seal.Parse(sealed, MaxSnapshotSize)
	if err != nil {
		return nil, nil, err
	}
	s, err := decodeSnapshot(env.Payload)
	if err != nil {
		return nil, nil, err
	}
	pub, err := ready(p.o.Definition, s, sealed, seal.Digest(sealed))
	return pub, s, err
}

// ready derives a sealed snapshot's files and gzips each once, for
// serving.
func ready(def *election.Definition, s *Snapshot, sealed []byte, digest string) (*Published, error) {
	files, err := files(def, s, sealed, digest)
	if err != nil {
		return nil, err
	}
	pub := &Published{Number: s.Number, Digest: digest, CreatedAt: s.CreatedAt,
		Sealed: files[0].Body, Files: files, byPath: make(map[string]*File, len(files))}
	pub.ETag = `"` + pub.Digest + `"`
	for i := range files {
		pub.byPath[files[i].Path] = &files[i]
	}
	return pub, nil
}

// Latest is the latest published snapshot; false before the first.
func (p *Publisher) Latest() (*Published, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.latest, p.latest != nil
}

// ByNumber is the published snapshot with the number: from memory if it
// is among the latest, else from the Archive.
func (p *Publisher) ByNumber(ctx context.Context, n uint64) (*Published, error) {
	p.mu.Lock()
	pub, latest := p.kept[n], p.latest
	p.mu.Unlock()
	switch {
	case pub != nil:
		return pub, nil
	case latest == nil || n == 0 || n > latest.Number:
		return nil, ErrNotPublished
	case p.o.Archive == nil:
		return nil, ErrNotRetained
	}
	sealed, err := p.o.Archive.Get(ctx, n)
	if err != nil {
		return nil, err
	}
	pub, _, err = p.published(sealed)
	return pub, err
}

// Kept is the published snapshot with the number if it is among those kept
// in memory; it never reads the Archive.
func (p *Publisher) Kept(n uint64) (*Published, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pub, ok := p.kept[n]
	return pub, ok
}

// Numbers lists the numbers of the snapshots kept in memory, oldest first.
func (p *Publisher) Numbers() []uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]uint64, 0, len(p.kept))
	for n := range p.kept {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Run makes snapshots until ctx ends: whenever told something changed, as
// soon as MinInterval allows.
func (p *Publisher) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.wake:
		}
		for {
			wait, due := p.Wait()
			if !due {
				break
			}
			if wait > 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-p.o.After(wait):
				}
				continue
			}
			pub, err := p.Publish(ctx)
			switch {
			case err != nil && p.o.OnError != nil:
				p.o.OnError(err)
			case pub != nil && p.o.OnPublish != nil:
				p.mu.Lock()
				took := p.lastTook
				p.mu.Unlock()
				p.o.OnPublish(pub, took)
			}
		}
	}
}
