package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"tally/app/election"
	"tally/app/station"
)

// maxCountsFile bounds a counts file: the largest candidates form has a
// few thousand fields.
const maxCountsFile = 4 << 20

// countsFile is the file `station enter` reads one entry from.
type countsFile struct {
	Counts     map[string]json.RawMessage `json:"counts"`
	Members    json.RawMessage            `json:"members_present"`
	Remarks    *string                    `json:"remarks"`
	Objections *string                    `json:"objections"`
}

// typedEntry is a decoded counts file. Remarks or objections left out of
// the file (nil) keep what the form holds; given empty, they clear it.
type typedEntry struct {
	station.Typed
}

// membersKey is the key of the members present in a counts file.
const membersKey = "members_present"

// readCounts reads a counts file for the given entry.
func readCounts(path string, e station.Entry) (typedEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return typedEntry{}, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxCountsFile+1))
	if err != nil {
		return typedEntry{}, err
	}
	if len(raw) > maxCountsFile {
		return typedEntry{}, fmt.Errorf("%s: larger than %d MiB: not a counts file", path, maxCountsFile>>20)
	}
	typed, err := decodeCounts(raw, e)
	if err != nil {
		return typedEntry{}, fmt.Errorf("%s: %w", path, err)
	}
	return typed, nil
}

// decodeCounts decodes a counts file strictly: one JSON object with the
// keys counts, members_present, remarks and objections only, no key twice,
// and every number a JSON integer. Each number goes to the station as its
// decimal text, for the station to check as if it were typed: a negative
// or too large number is refused there, naming the field.
func decodeCounts(raw []byte, e station.Entry) (typedEntry, error) {
	if err := checkJSONObject(raw); err != nil {
		return typedEntry{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var cf countsFile
	if err := dec.Decode(&cf); err != nil {
		return typedEntry{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return typedEntry{}, errors.New("unexpected data after the JSON object")
	}
	typed := typedEntry{Typed: station.Typed{Values: make(map[election.Field]string, len(cf.Counts)+1)}}
	typed.Remarks, typed.Objections = cf.Remarks, cf.Objections
	for key, value := range cf.Counts {
		f := election.Field(key)
		switch f {
		case "":
			return typedEntry{}, errors.New("counts: an empty field name")
		case election.FieldMembers, election.FieldRemarks, election.FieldObjections, election.FieldPhoto,
			election.FieldEnteredBy, election.FieldReentered:
			return typedEntry{}, fmt.Errorf("counts: %q is not a count field (the members present, remarks and objections have keys of their own)", key)
		}
		text, err := integerText(f, value)
		if err != nil {
			return typedEntry{}, fmt.Errorf("counts: %w", err)
		}
		typed.Values[f] = text
	}
	if cf.Members != nil {
		text, err := integerText(membersKey, cf.Members)
		if err != nil {
			return typedEntry{}, err
		}
		typed.Values[election.FieldMembers] = text
	}
	if e == station.Second {
		for _, text := range []*string{typed.Remarks, typed.Objections} {
			if text != nil && *text != "" {
				return typedEntry{}, errors.New("remarks and objections are typed with the first entry only")
			}
		}
		typed.Remarks, typed.Objections = nil, nil
	}
	return typed, nil
}

// integerText is the decimal text of a JSON integer.
func integerText(f election.Field, raw json.RawMessage) (string, error) {
	s := strings.TrimSpace(string(raw))
	switch {
	case s == "null":
		return "", fmt.Errorf("%s: null is not a number (write 0 if there are none)", f)
	case strings.HasPrefix(s, `"`):
		return "", fmt.Errorf("%s: %s is text, not a number: write the number without quotes", f, s)
	case s == "" || !(s[0] == '-' || '0' <= s[0] && s[0] <= '9'):
		return "", fmt.Errorf("%s: not a number", f)
	case strings.ContainsAny(s, ".eE"):
		return "", &election.InputError{Field: f, Key: election.InputNotANumber, Args: map[string]any{"Value": s}}
	}
	return s, nil
}

// checkJSONObject makes sure that raw is one JSON object in which no
// object has the same key twice: encoding/json would let the last one win
// silently, and a count typed twice is a mistake to show, not to guess at.
func checkJSONObject(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	return checkKeys(dec, "")
}

// checkKeys walks the rest of the object whose '{' was just read.
func checkKeys(dec *json.Decoder, path string) error {
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if seen[key] {
			return fmt.Errorf("%s%q appears twice", path, key)
		}
		seen[key] = true
		if err := skipValue(dec, path+key+": "); err != nil {
			return err
		}
	}
	_, err := dec.Token() // '}'
	return err
}

// skipValue reads one value, checking the keys of the objects inside it.
func skipValue(dec *json.Decoder, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		return checkKeys(dec, path)
	case json.Delim('['):
		for dec.More() {
			if err := skipValue(dec, path); err != nil {
				return err
			}
		}
		_, err := dec.Token() // ']'
		return err
	}
	return nil
}
