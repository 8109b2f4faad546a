package publish

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"tally/app/commission"
	"tally/app/seal"
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

// ArchivedFormat names the form in which the commission's store keeps a
// snapshot.
const ArchivedFormat = "tally.results.archived/v1"

// archived is a snapshot as the store keeps it: its payload without the
// station envelopes, which the store holds already (submissions are never
// changed or removed), and its signatures. A snapshot every few seconds
// through election night would otherwise store every envelope again each
// time: megabytes a snapshot, gigabytes a night. The sealed bytes are
// rebuilt exactly (encoding/json is deterministic, Ed25519 signatures are
// kept) and checked against the digest.
type archived struct {
	Format      string           `json:"format"`
	Digest      string           `json:"digest"` // seal.Digest of the sealed snapshot
	PayloadType string           `json:"payload_type"`
	Signatures  []seal.Signature `json:"signatures"`
	// Stripped is the payload with every station's envelope null,
	// gzip-compressed.
	Stripped []byte `json:"stripped"`
}

// serviceArchive keeps the snapshots in the commission's store.
type serviceArchive struct{ svc *commission.Service }

// ServiceArchive is the commission's store as a publisher's Archive: each
// snapshot is stored, with its record in the audit chain, before it is
// served; the station envelopes in it are the store's own.
func ServiceArchive(svc *commission.Service) Archive { return serviceArchive{svc} }

func (a serviceArchive) Append(ctx context.Context, number uint64, sealed []byte, s *Snapshot) error {
	env, err := seal.Parse(sealed, MaxSnapshotSize)
	if err != nil {
		return err
	}
	stripped := *s
	stripped.Stations = make([]StationEntry, len(s.Stations))
	for i, e := range s.Stations {
		e.Envelope = nil
		stripped.Stations[i] = e
	}
	payload, err := json.Marshal(&stripped)
	if err != nil {
		return err
	}
	var gz bytes.Buffer
	w, err := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	if err != nil {
		return err
	}
	_, _ = w.Write(payload) // a bytes.Buffer takes everything
	if err := w.Close(); err != nil {
		return err
	}
	raw, err := json.Marshal(archived{Format: ArchivedFormat, Digest: seal.Digest(sealed), PayloadType: env.PayloadType,
		Signatures: env.Signatures, Stripped: gz.Bytes()})
	if err != nil {
		return err
	}
	return a.svc.ArchiveSnapshotAs(ctx, number, raw, seal.Digest(sealed))
}

func (a serviceArchive) Get(ctx context.Context, number uint64) ([]byte, error) {
	raw, err := a.svc.ArchivedSnapshot(ctx, number)
	if commission.KindOf(err) == commission.ENotFound {
		return nil, errors.Join(ErrNotPublished, err)
	}
	if err != nil {
		return nil, err
	}
	return a.rebuild(ctx, number, raw)
}

func (a serviceArchive) Last(ctx context.Context) (uint64, []byte, error) {
	n, raw, err := a.svc.LastArchivedSnapshot(ctx)
	if err != nil || n == 0 {
		return n, nil, err
	}
	sealed, err := a.rebuild(ctx, n, raw)
	return n, sealed, err
}

// rebuild makes the sealed bytes of an archived snapshot again, with the
// station envelopes from the store, and checks them against its digest.
func (a serviceArchive) rebuild(ctx context.Context, number uint64, raw []byte) ([]byte, error) {
	var ar archived
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ar); err != nil {
		return nil, fmt.Errorf("publish: archived snapshot %d: %w", number, err)
	}
	if ar.Format != ArchivedFormat {
		return nil, fmt.Errorf("publish: archived snapshot %d: format %q is not %q", number, ar.Format, ArchivedFormat)
	}
	zr, err := gzip.NewReader(bytes.NewReader(ar.Stripped))
	if err != nil {
		return nil, fmt.Errorf("publish: archived snapshot %d: %w", number, err)
	}
	payload, err := io.ReadAll(io.LimitReader(zr, MaxSnapshotSize))
	if err != nil {
		return nil, fmt.Errorf("publish: archived snapshot %d: %w", number, err)
	}
	var s Snapshot
	if err := json.Unmarshal(payload, &s); err != nil {
		return nil, fmt.Errorf("publish: archived snapshot %d: %w", number, err)
	}
	digests := make([]string, len(s.Stations))
	for i := range s.Stations {
		digests[i] = s.Stations[i].Digest
	}
	envelopes, err := a.svc.SubmissionEnvelopes(ctx, digests)
	if err != nil {
		return nil, fmt.Errorf("publish: archived snapshot %d: %w", number, err)
	}
	for i := range s.Stations {
		s.Stations[i].Envelope = envelopes[s.Stations[i].Digest]
	}
	full, err := json.Marshal(&s)
	if err != nil {
		return nil, err
	}
	sealed, err := json.Marshal(seal.Envelope{PayloadType: ar.PayloadType, Payload: full, Signatures: ar.Signatures})
	if err != nil {
		return nil, err
	}
	if got := seal.Digest(sealed); got != ar.Digest {
		return nil, fmt.Errorf("publish: archived snapshot %d rebuilds to digest %s, not the %s published", number, got, ar.Digest)
	}
	return sealed, nil
}
