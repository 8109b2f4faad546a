package ui

import (
	"errors"
	"maps"
	"strconv"
	"time"

	"tally/app/election"
	"tally/app/seal"
	"tally/app/station"
	"tally/i18n"
)

// words looks up the screens' messages in the chosen language.
type words struct {
	*i18n.Localizer
}

// keyNames are the names of keys and commands that messages mention; they
// stay as printed on the keyboard in every language and script.
var keyNames = map[string]any{"Enter": "Enter", "Finish": "Ctrl+Enter", "Home": "Ctrl+H", "Print": "Ctrl+P",
	"Command": "tally station init", "Formats": "JPEG, PNG, PDF"}

// T is the message for key, with the key names at hand.
func (w words) T(key string, data map[string]any) string {
	return w.Localizer.T(key, withKeys(data))
}

// N is the plural message for key, with the key names at hand.
func (w words) N(key string, n int, data map[string]any) string {
	return w.Localizer.N(key, n, withKeys(data))
}

func withKeys(data map[string]any) map[string]any {
	d := maps.Clone(keyNames)
	maps.Copy(d, data)
	return d
}

// fieldCode is a field's code as the paper form prints it.
func fieldCode(f election.Field) string {
	if f == election.FieldMembers {
		return ""
	}
	return string(f)
}

// fieldName says what a field of the form counts.
func (w words) fieldName(l *election.Layout, f election.Field) string {
	if f == election.FieldMembers || f == election.FieldRemarks || f == election.FieldObjections {
		return w.T("field."+string(f), nil)
	}
	for _, spec := range l.Fields {
		if spec.ID != f {
			continue
		}
		if spec.Entity == 0 {
			return w.T("field."+string(f), nil)
		}
		e, ok := l.Contest.Entity(spec.Entity)
		if !ok {
			return string(f)
		}
		if spec.Candidate == 0 {
			return w.T("field.I", map[string]any{"Entity": e.Name})
		}
		for _, c := range e.Candidates {
			if c.Number == spec.Candidate {
				return w.T("field.K", map[string]any{"Candidate": c.Name, "Entity": e.Name})
			}
		}
	}
	return string(f)
}

// finding is a rule's message, its numbers in the language's format.
func (w words) finding(f election.Finding) string {
	return w.T(f.MessageKey(), f.MessageArgs(w))
}

// name is an election-definition name in the chosen language.
func (w words) name(n election.Names) string {
	if s, ok := n[w.Tag()]; ok && s != "" {
		return s
	}
	return n[i18n.Default]
}

// formTitle names a form: its contest and its kind.
func (w words) formTitle(def *election.Definition, key station.FormKey) string {
	contest := key.Contest
	if c, ok := def.Contest(key.Contest); ok {
		contest = w.name(c.Name)
	}
	return w.T("form."+string(key.Form), nil) + " — " + contest
}

// state names a form's state.
func (w words) state(s station.State) string { return w.T("ui.state."+string(s), nil) }

// clock formats a time of day in the laptop's zone.
func clock(t time.Time) string { return t.Local().Format("15:04:05") }

// short is the beginning of a digest, enough to read out on the phone.
func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	return digest
}

// problem is an error for the user, in the chosen language.
func (w words) problem(err error) string {
	var in *election.InputError
	var tr *station.TransitionError
	var soon *seal.TooSoonError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &in):
		data := in.Data()
		for k, v := range data {
			if n, ok := v.(int); ok {
				data[k] = w.Int(n)
			}
		}
		if in.Field == election.FieldEnteredBy || in.Field == election.FieldReentered {
			data["Field"] = w.T("ui.name", nil)
		} else if in.Field == "explanation" {
			data["Field"] = w.T("ui.seal.explanation", nil)
		}
		return w.T(in.Key, data)
	case errors.As(err, &tr):
		return w.T("ui.error.transition", map[string]any{"State": w.state(tr.State)})
	case errors.Is(err, seal.ErrWrongPIN):
		return w.T("ui.seal.wrong-pin", nil)
	case errors.As(err, &soon):
		return w.T("ui.seal.too-soon", map[string]any{"Seconds": w.Int(int(soon.Wait.Seconds()))})
	case errors.Is(err, station.ErrNotProvisioned):
		return w.T("ui.not-provisioned", nil)
	case errors.Is(err, station.ErrFingerprintMismatch):
		return w.T("ui.setup.fingerprint-mismatch", nil)
	case errors.Is(err, seal.ErrPINTooShort):
		return w.T("ui.setup.pin-too-short", map[string]any{"Min": seal.MinPINLength})
	case errors.Is(err, seal.ErrPINTooWeak):
		return w.T("ui.setup.pin-too-weak", nil)
	case errors.Is(err, station.ErrAlreadyProvisioned):
		return w.T("ui.setup.already", nil)
	}
	return w.T("ui.error.other", map[string]any{"Detail": err.Error()})
}

// count formats a count the way the paper form is typed: digits only.
func count(n int) string { return strconv.Itoa(n) }
