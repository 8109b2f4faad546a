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

// checkJSON walks a document token by token before it is decoded, so that
// syntax errors, duplicate keys (which encoding/json would silently let the
// last one win) and runaway nesting are reported with a JSON path.
func checkJSON(raw []byte) *Problem {
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
