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
// parsed once: what this service stores is taken as ingest parsed it, and
// what another node stored is read and parsed when first seen; later reads
// take both from memory. A rebuild then reads only the heads' digests and
// reviews from the store.
func ServiceSource(svc *commission.Service) Source {
	var (
		mu     sync.Mutex
		parsed = map[string]Accepted{}

		freshMu sync.Mutex
		fresh   []commission.Stored // told by ingest since the last read
	)
	svc.OnStored(func(stored []commission.Stored) {
		freshMu.Lock()
		fresh = append(fresh, stored...)
		freshMu.Unlock()
	})
	return func(ctx context.Context) ([]Accepted, error) {
		mu.Lock()
		defer mu.Unlock()
		freshMu.Lock()
		told := fresh
		fresh = nil
		freshMu.Unlock()
		for _, st := range told {
			sub := st.Submission
			parsed[sub.Digest] = Accepted{Station: sub.Station, Contest: sub.Contest, Form: sub.Form,
				Version: sub.Version, Digest: sub.Digest, Envelope: sub.Envelope, Counts: st.Form.Form.Counts,
				PhotoSHA256: sub.PhotoSHA256}
		}
		def, err := svc.Definition(ctx)
		if err != nil {
			return nil, err
		}
		rec, err := svc.HeadsRecord(ctx)
		if err != nil {
			return nil, err
		}
		var missing []string
		for _, h := range rec.Submissions {
			if _, ok := parsed[h.Digest]; !ok {
				missing = append(missing, h.Digest)
			}
		}
		if len(missing) > 0 {
			envelopes, err := svc.SubmissionEnvelopes(ctx, missing)
			if err != nil {
				return nil, err
			}
			for i := range rec.Submissions {
				h := &rec.Submissions[i]
				if env, ok := envelopes[h.Digest]; ok {
					h.Envelope = env
				}
			}
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

func (a serviceArchive) Append(ctx context.Context, sealed *SealedSnapshot, _ *Snapshot) error {
	var gz bytes.Buffer
	w, err := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	if err != nil {
		return err
	}
	_, _ = w.Write(sealed.Stripped) // a bytes.Buffer takes everything
	if err := w.Close(); err != nil {
		return err
	}
	raw, err := json.Marshal(archived{Format: ArchivedFormat, Digest: sealed.Digest, PayloadType: sealed.Envelope.PayloadType,
		Signatures: sealed.Envelope.Signatures, Stripped: gz.Bytes()})
	if err != nil {
		return err
	}
	return a.svc.ArchiveSnapshotAs(ctx, sealed.Number, raw, sealed.Digest)
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
