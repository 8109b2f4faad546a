package election

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong in a document, at a JSON path such as
// $.stations[12].registered. Code names the catalog message
// ("definition." + Code); Args fill its template.
type Problem struct {
	Path string
	Code string
	Args map[string]any
}

// Problem codes; each has a message "definition.<code>" in every catalog.
const (
	ProblemMalformed       = "malformed"
	ProblemTooLarge        = "too-large"
	ProblemRequired        = "required"
	ProblemDuplicate       = "duplicate"
	ProblemUnresolved      = "unresolved"
	ProblemOutOfRange      = "out-of-range"
	ProblemTooLong         = "too-long"
	ProblemTooMany         = "too-many"
	ProblemMissingLanguage = "missing-language"
	ProblemInvalid         = "invalid"
)

// MessageKey is the catalog key of the problem's message.
func (p Problem) MessageKey() string { return "definition." + p.Code }

// Data is the template data of the message, the path included.
func (p Problem) Data() map[string]any {
	d := make(map[string]any, len(p.Args)+1)
	for k, v := range p.Args {
		d[k] = v
	}
	d["Path"] = p.Path
	return d
}

func (p Problem) Error() string {
	a := p.Args
	switch p.Code {
	case ProblemMalformed:
		return fmt.Sprintf("%s: not valid JSON: %v", p.Path, a["Detail"])
	case ProblemTooLarge:
		return fmt.Sprintf("%s: document larger than %v bytes", p.Path, a["Max"])
	case ProblemRequired:
		return fmt.Sprintf("%s: missing", p.Path)
	case ProblemDuplicate:
		return fmt.Sprintf("%s: %q appears more than once", p.Path, a["Value"])
	case ProblemUnresolved:
		return fmt.Sprintf("%s: %q does not refer to anything in the definition", p.Path, a["Value"])
	case ProblemOutOfRange:
		return fmt.Sprintf("%s: %v is outside the allowed range %v–%v", p.Path, a["Value"], a["Min"], a["Max"])
	case ProblemTooLong:
		return fmt.Sprintf("%s: longer than %v characters", p.Path, a["Max"])
	case ProblemTooMany:
		return fmt.Sprintf("%s: more than %v entries", p.Path, a["Max"])
	case ProblemMissingLanguage:
		return fmt.Sprintf("%s: no name in %v", p.Path, a["Lang"])
	case ProblemBadSignature:
		return fmt.Sprintf("%s: the signature does not verify: %v", p.Path, a["Detail"])
	case ProblemWrongElection:
		return fmt.Sprintf("%s: the definition is for election %q, not %q", p.Path, a["Got"], a["Want"])
	case ProblemFingerprintMismatch:
		return fmt.Sprintf("%s: the commission's key fingerprint %v differs from the trusted %v", p.Path, a["Got"], a["Want"])
	default:
		return fmt.Sprintf("%s: %q is not valid here", p.Path, a["Value"])
	}
}

// Problems is every problem found in a document. A loader that returns
// Problems returns nothing else: no document is ever half loaded.
type Problems []Problem

// maxProblems bounds how many problems one document reports.
const maxProblems = 200

func (ps Problems) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "election definition refused: %d problem", len(ps))
	if len(ps) != 1 {
		b.WriteString("s")
	}
	for i, p := range ps {
		if i == 10 {
			fmt.Fprintf(&b, "; and %d more", len(ps)-i)
			break
		}
		b.WriteString("; ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// problems collects problems while a document is checked.
type problems struct {
	list Problems
}

func (ps *problems) add(path, code string, args map[string]any) {
	if len(ps.list) < maxProblems {
		ps.list = append(ps.list, Problem{Path: path, Code: code, Args: args})
	}
}

func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	return ps.list
}

func at(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }
