package election

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxJSONDepth bounds nesting; the deepest legitimate path is
// $.contests[i].entities[j].candidates[k].name.
const maxJSONDepth = 16

// checkJSON refuses, before a document is decoded, what encoding/json
// would let through: duplicate keys (it would let the last one win),
// runaway nesting, and any syntax error, each reported with a JSON path.
// A fast scan clears the common document; anything it is unsure of, and
// every document with a problem, goes through the token walk that names
// the path.
func checkJSON(raw []byte) *Problem {
	if json.Valid(raw) && clearlyFine(raw) {
		return nil
	}
	return walkJSON(raw)
}

// clearlyFine scans a document that json.Valid accepted and reports
// whether it certainly has no duplicate key and no nesting deeper than
// maxJSONDepth. It says false when unsure: a key with an escape or a
// non-ASCII letter, which only the full walk compares as encoding/json
// folds them.
func clearlyFine(raw []byte) bool {
	type frame struct {
		object bool
		first  int                 // index of the frame's first key in keys
		seen   map[uint64]struct{} // for large objects: the keys' folded hashes
	}
	var stack []frame
	// The keys of the open objects, as they are in raw: ASCII without
	// escapes, compared as encoding/json folds them (ASCII case).
	var keys [][]byte
	wantKey := false
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; c {
		case '{', '[':
			if len(stack) >= maxJSONDepth {
				return false
			}
			stack = append(stack, frame{object: c == '{', first: len(keys)})
			wantKey = c == '{'
		case '}', ']':
			top := stack[len(stack)-1]
			keys = keys[:top.first]
			stack = stack[:len(stack)-1]
			wantKey = false
		case ',':
			wantKey = len(stack) > 0 && stack[len(stack)-1].object
		case '"':
			j := i + 1
			escaped, ascii := false, true
			for ; raw[j] != '"'; j++ {
				switch {
				case raw[j] == '\\':
					escaped = true
					j++
				case raw[j] >= 0x80:
					ascii = false
				}
			}
			if wantKey {
				if escaped || !ascii {
					return false
				}
				key := raw[i+1 : j]
				top := &stack[len(stack)-1]
				if top.seen != nil {
					// The same hash is a duplicate or, rarely, two keys
					// that collide: unsure either way.
					if !addFolded(top.seen, key) {
						return false
					}
				} else {
					for _, k := range keys[top.first:] {
						if asciiEqualFold(k, key) {
							return false
						}
					}
					if len(keys)-top.first >= 32 {
						top.seen = make(map[uint64]struct{}, 64)
						for _, k := range keys[top.first:] {
							addFolded(top.seen, k)
						}
						if !addFolded(top.seen, key) {
							return false
						}
					}
				}
				keys = append(keys, key)
				wantKey = false
			}
			i = j
		}
	}
	return true
}

// asciiEqualFold reports whether two ASCII keys are equal but for the
// case of their letters.
func asciiEqualFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// addFolded adds an ASCII key's case-folded FNV-1a hash to set, and
// reports false when the hash was there already.
func addFolded(set map[uint64]struct{}, key []byte) bool {
	h := uint64(14695981039346656037)
	for _, c := range key {
		h ^= uint64(lowerASCII(c))
		h *= 1099511628211
	}
	if _, dup := set[h]; dup {
		return false
	}
	set[h] = struct{}{}
	return true
}

// walkJSON walks a document token by token and names the first problem
// with its path.
func walkJSON(raw []byte) *Problem {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	type frame struct {
		object bool
		keys   map[string]bool
		key    string // object: the current key; "" before the first
		index  int    // array: the next element's index
		want   bool   // object: the next string token is a key
	}
	var stack []*frame
	path := func() string {
		var b bytes.Buffer
		b.WriteString("$")
		for _, f := range stack {
			if f.object {
				if f.key != "" {
					b.WriteString(".")
					b.WriteString(f.key)
				}
			} else {
				b.WriteString("[")
				b.WriteString(strconv.Itoa(f.index))
				b.WriteString("]")
			}
		}
		return b.String()
	}
	malformed := func(err error) *Problem {
		detail := err.Error()
		var se *json.SyntaxError
		if errors.As(err, &se) {
			detail = fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			detail = "the document ends too early"
		}
		return &Problem{Path: path(), Code: ProblemMalformed, Args: map[string]any{"Detail": detail}}
	}
	// afterValue moves the enclosing container past one finished value.
	afterValue := func() {
		if len(stack) == 0 {
			return
		}
		top := stack[len(stack)-1]
		if top.object {
			top.want = true
		} else {
			top.index++
		}
	}
	started := false
	for {
		tok, err := dec.Token()
		if err == io.EOF && started && len(stack) == 0 {
			break
		}
		if err != nil {
			return malformed(err)
		}
		if started && len(stack) == 0 {
			return &Problem{Path: "$", Code: ProblemMalformed, Args: map[string]any{"Detail": "data after the end of the document"}}
		}
		started = true
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.want {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				afterValue()
				continue
			}
			key, _ := tok.(string)
			// encoding/json matches keys to fields without regard to
			// case, so "counts" and "Counts" would be one field with the
			// last value winning: refuse them as duplicates.
			folded := strings.ToLower(strings.ToUpper(key)) // as encoding/json folds: ſ is s, K is k
			if top.keys[folded] {
				top.key = key
				return &Problem{Path: path(), Code: ProblemDuplicate, Args: map[string]any{"Value": key}}
			}
			top.keys[folded] = true
			top.key = key
			top.want = false
			continue
		}
		switch d := tok.(type) {
		case json.Delim:
			switch d {
			case '{', '[':
				if len(stack) >= maxJSONDepth {
					return &Problem{Path: path(), Code: ProblemMalformed, Args: map[string]any{"Detail": "nested too deeply"}}
				}
				f := &frame{object: d == '{', want: d == '{'}
				if f.object {
					f.keys = map[string]bool{}
				}
				stack = append(stack, f)
			case ']':
				stack = stack[:len(stack)-1]
				afterValue()
			}
		default:
			afterValue()
		}
	}
	return nil
}
