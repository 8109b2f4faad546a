package election

import (
	"encoding/json"
	"testing"
)

// FuzzCheckJSON holds the fast scan to the full walk: whatever the scan
// clears, the walk must find nothing wrong with.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"b":[1,2,{"c":"x\"y"}]}`, `{"a":1,"A":2}`, `{"a":{"a":{"a":1}}}`, `[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]`,
		`{"k":1,"\u006b":2}`, `{"ſ":1,"s":2}`, `{"\u212a":1,"k":2}`, `{"a":"é","b":"\\"}`, `{} `, `{"a":1}{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if json.Valid(raw) && clearlyFine(raw) {
			if p := walkJSON(raw); p != nil {
				t.Fatalf("the scan cleared %q, the walk finds %v", raw, p)
			}
		}
	})
}

func TestCheckJSONFindsWhatTheWalkFinds(t *testing.T) {
	for doc, want := range map[string]string{
		`{"a":1,"A":2}`:                       ProblemDuplicate,
		`{"ſ":1,"s":2}`:                       ProblemDuplicate,
		`{"k":1,"\u006b":2}`:                  ProblemDuplicate,
		`{"a":{"b":1,"b":2}}`:                 ProblemDuplicate,
		`{"a":1,}`:                            ProblemMalformed,
		`{"a":1}{}`:                           ProblemMalformed,
		`[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]`: ProblemMalformed,
	} {
		p := checkJSON([]byte(doc))
		if p == nil || p.Code != want {
			t.Errorf("%s: got %v, want %s", doc, p, want)
		}
	}
	if p := checkJSON([]byte(`{"a":[{"a":1},{"a":2}],"b":{"a":1}}`)); p != nil {
		t.Errorf("the same key in different objects is no duplicate: %v", p)
	}
}
