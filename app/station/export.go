package station

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"tally/app/audit"
)

// ExportFormat names the version of an export's manifest.
const ExportFormat = "tally.station-export/v1"

// FileWriter receives the files of an export, each under a relative,
// slash-separated name.
type FileWriter interface {
	WriteFile(name string, data []byte) error
}

// Manifest lists the files of an export with their hashes. Everything a
// station signed or received is in it as the exact bytes, so that the
// commission can verify it without the station's laptop.
type Manifest struct {
	Format     string         `json:"format"`
	Election   string         `json:"election"`
	Station    string         `json:"station"`
	StationKey string         `json:"station_key"`
	ExportedAt time.Time      `json:"exported_at"`
	AuditHead  string         `json:"audit_head"`
	Files      []ManifestFile `json:"files"`
}

// ManifestFile is one file of an export.
type ManifestFile struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Size   int    `json:"size"`
}

// Export writes the station's record for carrying to the commission by
// hand, or for archiving: the signed definition, every sealed version,
// every receipt and decision, the photos, the audit log (one JSON record a
// line) and a manifest of them all. It reads one consistent snapshot and
// verifies the audit chain on the way.
func (s *Service) Export(ctx context.Context, w FileWriter) (*Manifest, error) {
	sc, err := s.loadScope(ctx)
	if err != nil {
		return nil, err
	}
	m := &Manifest{Format: ExportFormat, Election: sc.def.Election.ID, Station: sc.station.Code,
		StationKey: sc.prov.PublicKey, ExportedAt: s.clock()}
	put := func(name string, data []byte) error {
		if err := w.WriteFile(name, data); err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		m.Files = append(m.Files, ManifestFile{Name: name, SHA256: hex.EncodeToString(sum[:]), Size: len(data)})
		return nil
	}
	err = s.store.View(ctx, func(r Reader) error {
		def, err := r.Definition()
		if err != nil {
			return err
		}
		if err := put("election.json", def); err != nil {
			return err
		}
		photos := map[string]bool{}
		err = r.AllVersions(func(v Version) error {
			name := fmt.Sprintf("submissions/%s-%s-v%d.json", v.Key.Contest, v.Key.Form, v.Version)
			if err := put(name, v.Envelope); err != nil {
				return err
			}
			sub, err := payloadOf(v.Envelope)
			if err != nil {
				return err
			}
			if sub.Form.PhotoSHA256 != "" {
				photos[sub.Form.PhotoSHA256] = true
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, sha := range slices.Sorted(maps.Keys(photos)) {
			data, err := r.Photo(sha)
			if err != nil {
				return fmt.Errorf("photo %s of a sealed version: %w", sha, err)
			}
			if err := put("photos/"+sha+"."+PhotoExtension(data), data); err != nil {
				return err
			}
		}
		receipts, err := r.Receipts()
		if err != nil {
			return err
		}
		for _, rc := range receipts {
			v, err := r.Version(rc.Submission)
			if err != nil {
				return err
			}
			name := fmt.Sprintf("receipts/%s-%s-v%d.json", v.Key.Contest, v.Key.Form, v.Version)
			if err := put(name, rc.Envelope); err != nil {
				return err
			}
		}
		decisions, err := r.Decisions()
		if err != nil {
			return err
		}
		for _, d := range decisions {
			if err := put("decisions/"+d.Digest+".json", d.Envelope); err != nil {
				return err
			}
		}
		log, head, err := auditLog(r)
		if err != nil {
			return err
		}
		m.AuditHead = head
		return put("audit.jsonl", log)
	})
	if err != nil {
		return nil, err
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := w.WriteFile("manifest.json", append(manifest, '\n')); err != nil {
		return nil, err
	}
	return m, nil
}

// auditRecordJSON is one line of audit.jsonl.
type auditRecordJSON struct {
	Seq     uint64          `json:"seq"`
	At      string          `json:"at"`
	Action  string          `json:"action"`
	Subject string          `json:"subject,omitempty"`
	Actor   string          `json:"actor,omitempty"`
	Details json.RawMessage `json:"details"`
	Prev    string          `json:"prev"`
	Hash    string          `json:"hash"`
}

func auditLog(r Reader) ([]byte, string, error) {
	var out []byte
	var v audit.Verifier
	err := r.AuditRecords(func(rec audit.Record) error {
		if err := v.Add(rec); err != nil {
			return err
		}
		line, err := json.Marshal(auditRecordJSON{Seq: rec.Seq, At: rec.At.UTC().Format(time.RFC3339Nano),
			Action: rec.Action, Subject: rec.Subject, Actor: rec.Actor, Details: rec.Details, Prev: rec.Prev, Hash: rec.Hash})
		if err != nil {
			return err
		}
		out = append(append(out, line...), '\n')
		return nil
	})
	head := ""
	if h := v.Head(); h != nil {
		head = h.Hash
	}
	return out, head, err
}
