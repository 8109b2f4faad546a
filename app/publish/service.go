package publish

import (
	"context"
	"errors"
	"sync"

	"tally/app/commission"
)

// ServiceSource reads what the commission's service stored: the head of
// every form and every decision, in one consistent read. An envelope is
// parsed once; later reads take it from memory, so a rebuild parses only
// what arrived since the one before.
func ServiceSource(svc *commission.Service) Source {
	var mu sync.Mutex
	parsed := map[string]Accepted{}
	return func(ctx context.Context) ([]Accepted, error) {
		mu.Lock()
		defer mu.Unlock()
		def, err := svc.Definition(ctx)
		if err != nil {
			return nil, err
		}
		rec, err := svc.HeadsRecord(ctx)
		if err != nil {
			return nil, err
		}
		out, err := fromRecord(def, rec, parsed)
		if err != nil {
			return nil, err
		}
		if len(parsed) > len(out) { // heads no longer are never needed again
			heads := make(map[string]bool, len(out))
			for _, a := range out {
				heads[a.Digest] = true
			}
			for d := range parsed {
				if !heads[d] {
					delete(parsed, d)
				}
			}
		}
		return out, nil
	}
}

// serviceArchive keeps the snapshots in the commission's store.
type serviceArchive struct{ svc *commission.Service }

// ServiceArchive is the commission's store as a publisher's Archive: each
// snapshot is stored, with its record in the audit chain, before it is
// served.
func ServiceArchive(svc *commission.Service) Archive { return serviceArchive{svc} }

func (a serviceArchive) Append(ctx context.Context, number uint64, sealed []byte) error {
	return a.svc.ArchiveSnapshot(ctx, number, sealed)
}

func (a serviceArchive) Get(ctx context.Context, number uint64) ([]byte, error) {
	b, err := a.svc.ArchivedSnapshot(ctx, number)
	if commission.KindOf(err) == commission.ENotFound {
		return nil, errors.Join(ErrNotPublished, err)
	}
	return b, err
}

func (a serviceArchive) Last(ctx context.Context) (uint64, []byte, error) {
	return a.svc.LastArchivedSnapshot(ctx)
}
