package match

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// An InputError reports an input that the algorithm cannot accept. Field is
// the JSON path of the offending value, as in a [Proof] ("objects[3].k",
// "inspectors[0].tags[2]", "round"), or the parameter's name for [Replace]
// ("object.k", "team[1]", "replaced").
type InputError struct {
	Field  string
	Reason string
}

func (e *InputError) Error() string {
	return "match: invalid input: " + e.Field + ": " + e.Reason
}

// Infeasible describes an object that cannot be staffed.
type Infeasible struct {
	ObjectKey string `json:"object_key"`
	// Eligible is |eligible(o)|: the inspectors qualified for the object and
	// not recused from it, whatever their load.
	Eligible int `json:"eligible"`
	// Available is how many of those were still below their max_load when
	// the object's turn came.
	Available int `json:"available"`
}

// An InfeasibleError reports that some objects cannot be given a full team.
// Match returns it instead of a partial assignment, listing every such
// object in processing order, so that the county can fix all of them (widen
// the pool, raise caps, review recusals) before matching again.
//
// The published algorithm is greedy, and its processing order counts
// eligible inspectors whatever their load: an object can be reported
// infeasible because an earlier object, which had alternatives, took
// inspectors who were close to their cap, even though another matching
// would staff every object. The remedies are the same.
type InfeasibleError struct {
	Objects []Infeasible `json:"objects"`
}

func (e *InfeasibleError) Error() string {
	const shown = 5
	var b strings.Builder
	if len(e.Objects) == 1 {
		b.WriteString("match: 1 object cannot be staffed: ")
	} else {
		fmt.Fprintf(&b, "match: %d objects cannot be staffed: ", len(e.Objects))
	}
	for i, o := range e.Objects {
		if i == shown {
			fmt.Fprintf(&b, " and %d more", len(e.Objects)-shown)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (eligible %d, available %d)", o.ObjectKey, o.Eligible, o.Available)
	}
	return b.String()
}

// maxLoad is the largest load accepted: 2^53-1, the largest integer that
// canonical JSON (RFC 8785) writes exactly, so that PoolHash stays
// faithful to the pool.
const maxLoad = 1<<53 - 1

// labelProblem returns why s cannot be a key, tag or label, or "". The
// specification rules out TAB, CR and LF; invalid UTF-8 is ruled out too
// because JSON cannot carry it, so a proof could not record it faithfully.
func labelProblem(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case strings.ContainsAny(s, "\t\r\n"):
		return fmt.Sprintf("%q contains a TAB, CR or LF", s)
	case !utf8.ValidString(s):
		return fmt.Sprintf("%q is not valid UTF-8", s)
	}
	return ""
}

func checkObject(path string, o *Object) error {
	if r := labelProblem(o.ObjectKey); r != "" {
		return &InputError{path + ".object_key", r}
	}
	if o.K < 2 {
		return &InputError{path + ".k", "must be at least 2, got " + strconv.Itoa(o.K)}
	}
	for t, tag := range o.RequiredTags {
		if r := labelProblem(tag); r != "" {
			return &InputError{fmt.Sprintf("%s.required_tags[%d]", path, t), r}
		}
	}
	for t, key := range o.Recused {
		if r := labelProblem(key); r != "" {
			return &InputError{fmt.Sprintf("%s.recused[%d]", path, t), r}
		}
	}
	return nil
}

func checkInspector(path string, in *Inspector) error {
	if r := labelProblem(in.InspectorKey); r != "" {
		return &InputError{path + ".inspector_key", r}
	}
	for t, tag := range in.Tags {
		if r := labelProblem(tag); r != "" {
			return &InputError{fmt.Sprintf("%s.tags[%d]", path, t), r}
		}
	}
	if r := loadProblem(in.InitialLoad); r != "" {
		return &InputError{path + ".initial_load", r}
	}
	if r := loadProblem(in.MaxLoad); r != "" {
		return &InputError{path + ".max_load", r}
	}
	return nil
}

func loadProblem(n int) string {
	switch {
	case n < 0:
		return "must not be negative, got " + strconv.Itoa(n)
	case n > maxLoad:
		return "must be at most 2^53-1, got " + strconv.Itoa(n)
	}
	return ""
}

func checkInspectors(inspectors []Inspector) error {
	seen := make(map[string]int, len(inspectors))
	for i := range inspectors {
		path := fmt.Sprintf("inspectors[%d]", i)
		if err := checkInspector(path, &inspectors[i]); err != nil {
			return err
		}
		key := inspectors[i].InspectorKey
		if j, dup := seen[key]; dup {
			return &InputError{path + ".inspector_key", fmt.Sprintf("%q duplicates inspectors[%d]", key, j)}
		}
		seen[key] = i
	}
	return nil
}

// validate reports the first problem in the inputs of Match, in input order.
func validate(objects []Object, inspectors []Inspector) error {
	seen := make(map[string]int, len(objects))
	for i := range objects {
		path := fmt.Sprintf("objects[%d]", i)
		if err := checkObject(path, &objects[i]); err != nil {
			return err
		}
		key := objects[i].ObjectKey
		if j, dup := seen[key]; dup {
			return &InputError{path + ".object_key", fmt.Sprintf("%q duplicates objects[%d]", key, j)}
		}
		seen[key] = i
	}
	return checkInspectors(inspectors)
}
