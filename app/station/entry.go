package station

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"tally/app/audit"
	"tally/app/election"
	"tally/app/provision"
)

// Begin starts an entry of a form by the named commissioner. The second
// entry must be typed by someone other than the first's typist.
func (s *Service) Begin(ctx context.Context, key FormKey, e Entry, by string) error {
	name, err := provision.PersonName(by)
	if err != nil {
		return err
	}
	return s.onSheet(ctx, key, func(tx Tx, sc *scope, l *election.Layout, sh *Sheet) error {
		return s.begin(tx, sh, e, name)
	})
}

func (s *Service) begin(tx Tx, sh *Sheet, e Entry, name string) error {
	switch e {
	case First:
		if err := sh.move(OpBeginFirst, StateFirstEntry); err != nil {
			return err
		}
	case Second:
		if err := check(sh.State, OpBeginSecond); err != nil {
			return err
		}
		if err := election.CheckSecondTypist(sh.First.By, name); err != nil {
			return err
		}
		if err := sh.move(OpBeginSecond, StateSecondEntry); err != nil {
			return err
		}
	default:
		return fmt.Errorf("there is no %s", e)
	}
	sh.Draft(e).By = name
	return s.putSheet(tx, sh, s.clock(), audit.Event{Action: "form.begin", Actor: name,
		Details: map[string]any{"entry": e.String(), "version": sh.Version}})
}

// SaveField saves one typed field of the entry in progress, durably, as
// soon as the typist leaves it. An empty count clears the field. Remarks
// and objections are typed with the first entry. Saving what is already
// stored writes nothing.
func (s *Service) SaveField(ctx context.Context, key FormKey, e Entry, f election.Field, text string) error {
	err := s.onSheet(ctx, key, func(tx Tx, sc *scope, l *election.Layout, sh *Sheet) error {
		return s.saveField(tx, l, sh, e, f, text)
	})
	return ignoreUnchanged(err)
}

func (s *Service) saveField(tx Tx, l *election.Layout, sh *Sheet, e Entry, f election.Field, text string) error {
	op := OpSaveFirst
	if e == Second {
		op = OpSaveSecond
	} else if e != First {
		return fmt.Errorf("there is no %s", e)
	}
	if err := check(sh.State, op); err != nil {
		return err
	}
	d := sh.Draft(e)
	if f == election.FieldRemarks || f == election.FieldObjections {
		if e != First {
			return &election.InputError{Field: f, Key: election.InputUnknownField}
		}
		return s.saveText(tx, sh, d.By, f, text)
	}
	if f != election.FieldMembers && !l.Has(f) {
		return &election.InputError{Field: f, Key: election.InputUnknownField}
	}
	value, present := 0, strings.TrimSpace(text) != ""
	if present {
		var err error
		if value, err = election.ParseCount(f, text); err != nil {
			return err
		}
	}
	old, had := d.Values[f]
	if had == present && old == value {
		return errUnchanged
	}
	if err := tx.PutValue(sh.Key, sh.Version, e, f, value, present); err != nil {
		return err
	}
	if present {
		d.Values[f] = value
	} else {
		delete(d.Values, f)
	}
	var logged any
	if present {
		logged = value
	}
	return tx.Audit(s.clock(), audit.Event{Action: "form.save", Subject: sh.Key.String(), Actor: d.By,
		Details: map[string]any{"entry": e.String(), "version": sh.Version, "field": string(f), "value": logged}})
}

// Typed is a whole entry typed at once, as the headless command reads it
// from a file: every field's text by field; with the first entry, the
// remarks and objections (nil leaves them as the form holds them, "" clears
// them) and the photo of the paper form (nil leaves it).
type Typed struct {
	Values     map[election.Field]string
	Remarks    *string
	Objections *string
	Photo      []byte
}

// Enter types a whole entry in one transaction: begin (unless this entry
// is already in progress by the same commissioner), save every field,
// attach the photo, finish. Any bad value refuses all of it, naming the
// field.
func (s *Service) Enter(ctx context.Context, key FormKey, e Entry, by string, typed Typed) error {
	name, err := provision.PersonName(by)
	if err != nil {
		return err
	}
	if e == Second && (typed.Remarks != nil || typed.Objections != nil || typed.Photo != nil) {
		return &election.InputError{Field: election.FieldRemarks, Key: election.InputUnknownField}
	}
	var photoSHA string
	if typed.Photo != nil {
		if photoSHA, err = checkPhoto(typed.Photo); err != nil {
			return err
		}
	}
	return s.onSheet(ctx, key, func(tx Tx, sc *scope, l *election.Layout, sh *Sheet) error {
		inProgress := (e == First && sh.State == StateFirstEntry) || (e == Second && sh.State == StateSecondEntry)
		if inProgress && sh.Draft(e).By != name {
			return fmt.Errorf("the %s entry is being typed by %s, not %s", e, sh.Draft(e).By, name)
		}
		if !inProgress {
			if err := s.begin(tx, sh, e, name); err != nil {
				return err
			}
		}
		fields := make([]election.Field, 0, len(typed.Values))
		for f := range typed.Values {
			fields = append(fields, f)
		}
		slices.Sort(fields)
		for _, f := range fields {
			if err := ignoreUnchanged(s.saveField(tx, l, sh, e, f, typed.Values[f])); err != nil {
				return err
			}
		}
		for _, text := range []struct {
			f    election.Field
			text *string
		}{{election.FieldRemarks, typed.Remarks}, {election.FieldObjections, typed.Objections}} {
			if text.text == nil {
				continue
			}
			if err := ignoreUnchanged(s.saveField(tx, l, sh, e, text.f, *text.text)); err != nil {
				return err
			}
		}
		if typed.Photo != nil {
			if err := ignoreUnchanged(s.attachPhoto(tx, sh, typed.Photo, photoSHA, name)); err != nil {
				return err
			}
		}
		return s.finish(tx, l, sh, e)
	})
}

func (s *Service) saveText(tx Tx, sh *Sheet, by string, f election.Field, text string) error {
	norm, err := election.NormalizeText(f, text, election.MaxTextLength)
	if err != nil {
		return err
	}
	target := &sh.Remarks
	if f == election.FieldObjections {
		target = &sh.Objections
	}
	if *target == norm {
		return errUnchanged
	}
	*target = norm
	return s.putSheet(tx, sh, s.clock(), audit.Event{Action: "form.save", Actor: by,
		Details: map[string]any{"entry": First.String(), "version": sh.Version, "field": string(f), "value": norm}})
}

// missing is the first field of the layout (then the members present)
// that the draft left empty, or "".
func missing(l *election.Layout, d *Draft) election.Field {
	for _, spec := range l.Fields {
		if _, ok := d.Values[spec.ID]; !ok {
			return spec.ID
		}
	}
	if _, ok := d.Values[election.FieldMembers]; !ok {
		return election.FieldMembers
	}
	return ""
}

// Finish ends an entry. Every field must be filled. Finishing the second
// entry compares it with the first: the form is agreed, or has differences
// to settle.
func (s *Service) Finish(ctx context.Context, key FormKey, e Entry) error {
	return s.onSheet(ctx, key, func(tx Tx, sc *scope, l *election.Layout, sh *Sheet) error {
		return s.finish(tx, l, sh, e)
	})
}

func (s *Service) finish(tx Tx, l *election.Layout, sh *Sheet, e Entry) error {
	op := OpFinishFirst
	if e == Second {
		op = OpFinishSecond
	}
	if err := check(sh.State, op); err != nil {
		return err
	}
	d := sh.Draft(e)
	if f := missing(l, d); f != "" {
		return &election.InputError{Field: f, Key: election.InputRequired}
	}
	details := map[string]any{"entry": e.String(), "version": sh.Version}
	to := StateSecondPending
	if e == Second {
		diffs := sh.differences(l)
		to = StateAgreed
		if len(diffs) > 0 {
			to = StateDifferences
		}
		details["differences"] = len(diffs)
	}
	if err := sh.move(op, to); err != nil {
		return err
	}
	return s.putSheet(tx, sh, s.clock(), audit.Event{Action: "form.finish", Actor: d.By, Details: details})
}

// differences compares the two entries.
func (sh *Sheet) differences(l *election.Layout) []election.Difference {
	a := sh.form("", "", sh.First.Values)
	b := sh.form("", "", sh.Second.Values)
	return election.Compare(l, a, b)
}

// unresolved is the differences not yet settled by retyping.
func (sh *Sheet) unresolved(l *election.Layout) []election.Difference {
	var out []election.Difference
	for _, d := range sh.differences(l) {
		if _, ok := sh.Resolved[d.Field]; !ok {
			out = append(out, d)
		}
	}
	return out
}

// Resolve settles a difference between the two entries: the value of the
// field is typed again from the paper form, by the named commissioner.
func (s *Service) Resolve(ctx context.Context, key FormKey, f election.Field, text, by string) error {
	name, err := provision.PersonName(by)
	if err != nil {
		return err
	}
	return s.onSheet(ctx, key, func(tx Tx, sc *scope, l *election.Layout, sh *Sheet) error {
		if err := check(sh.State, OpResolve); err != nil {
			return err
		}
		var diff *election.Difference
		for _, d := range sh.differences(l) {
			if d.Field == f {
				diff = &d
				break
			}
		}
		if diff == nil {
			return fmt.Errorf("%s: the two entries agree on this field; there is nothing to resolve", f)
		}
		value, err := election.ParseCount(f, text)
		if err != nil {
			return err
		}
		if sh.Resolved == nil {
			sh.Resolved = map[election.Field]int{}
		}
		sh.Resolved[f] = value
		to := StateDifferences
		if len(sh.unresolved(l)) == 0 {
			to = StateAgreed
		}
		if err := sh.move(OpResolve, to); err != nil {
			return err
		}
		return s.putSheet(tx, sh, s.clock(), audit.Event{Action: "form.resolve", Actor: name,
			Details: map[string]any{"version": sh.Version, "field": string(f), "first": diff.First,
				"second": diff.Second, "value": value}})
	})
}

// Confirm records the chair's explanation of an error that the paper form
// itself carries, so that the form can be sealed with it.
func (s *Service) Confirm(ctx context.Context, key FormKey, rule, explanation, by string) error {
	name, err := provision.PersonName(by)
	if err != nil {
		return err
	}
	return s.onSheet(ctx, key, func(tx Tx, sc *scope, l *election.Layout, sh *Sheet) error {
		if err := check(sh.State, OpConfirm); err != nil {
			return err
		}
		text, err := election.NormalizeText(election.Field("explanation"), explanation, election.MaxExplanationChars)
		if err != nil {
			return err
		}
		if text == "" {
			return &election.InputError{Field: election.Field("explanation"), Key: election.InputRequired}
		}
		fired := false
		for _, f := range election.Errors(election.Validate(l, sc.station, sh.form(sc.def.Election.ID, sc.station.Code, sh.Agreed()))) {
			fired = fired || f.Code == rule
		}
		if !fired {
			return fmt.Errorf("%s is not an error of these numbers; only errors are confirmed", rule)
		}
		kept := sh.Confirmed[:0:0]
		for _, c := range sh.Confirmed {
			if c.Rule != rule {
				kept = append(kept, c)
			}
		}
		sh.Confirmed = append(kept, election.Confirmation{Rule: rule, Explanation: text})
		if err := sh.move(OpConfirm, StateAgreed); err != nil {
			return err
		}
		return s.putSheet(tx, sh, s.clock(), audit.Event{Action: "form.confirm", Actor: name,
			Details: map[string]any{"version": sh.Version, "rule": rule, "explanation": text}})
	})
}

// MaxPhotoSize bounds the photo or scan of a paper form.
const MaxPhotoSize = 20 << 20

// photoKinds are the formats a photo or scan may come in, by their first bytes.
var photoKinds = []struct {
	ext   string
	magic []byte
}{
	{"jpg", []byte{0xFF, 0xD8, 0xFF}},
	{"png", []byte("\x89PNG\r\n\x1a\n")},
	{"pdf", []byte("%PDF-")},
}

// PhotoExtension names the format of a photo by its first bytes: "jpg",
// "png" or "pdf", or "" for anything else.
func PhotoExtension(data []byte) string {
	for _, k := range photoKinds {
		if bytes.HasPrefix(data, k.magic) {
			return k.ext
		}
	}
	return ""
}

// checkPhoto refuses what is not a photo or scan of a paper form and
// returns the SHA-256 of what is.
func checkPhoto(data []byte) (string, error) {
	switch {
	case len(data) == 0:
		return "", &election.InputError{Field: election.FieldPhoto, Key: election.InputPhotoMissing}
	case len(data) > MaxPhotoSize:
		return "", &election.InputError{Field: election.FieldPhoto, Key: election.InputPhotoTooLarge,
			Args: map[string]any{"Max": MaxPhotoSize >> 20}}
	case PhotoExtension(data) == "":
		return "", &election.InputError{Field: election.FieldPhoto, Key: election.InputPhotoFormat}
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// AttachPhoto stores the photo or scan of the signed paper form and binds
// its SHA-256 to the form, to be sealed with the numbers.
func (s *Service) AttachPhoto(ctx context.Context, key FormKey, data []byte, by string) (string, error) {
	name, err := provision.PersonName(by)
	if err != nil {
		return "", err
	}
	digest, err := checkPhoto(data)
	if err != nil {
		return "", err
	}
	err = s.onSheet(ctx, key, func(tx Tx, sc *scope, l *election.Layout, sh *Sheet) error {
		return s.attachPhoto(tx, sh, data, digest, name)
	})
	if err := ignoreUnchanged(err); err != nil {
		return "", err
	}
	return digest, nil
}

func (s *Service) attachPhoto(tx Tx, sh *Sheet, data []byte, digest, name string) error {
	if err := check(sh.State, OpAttachPhoto); err != nil {
		return err
	}
	if sh.Photo == digest {
		return errUnchanged
	}
	if err := tx.PutPhoto(digest, data); err != nil {
		return err
	}
	sh.Photo = digest
	if err := sh.move(OpAttachPhoto, sh.State); err != nil {
		return err
	}
	return s.putSheet(tx, sh, s.clock(), audit.Event{Action: "form.photo", Actor: name,
		Details: map[string]any{"version": sh.Version, "sha256": digest, "size": len(data)}})
}
