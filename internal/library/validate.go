package library

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spotcheck-gov/spotcheck/internal/draw"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/uscc"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// Length limits of free text, in characters. Keys match the public_key
// domain of the schema; the rest keep a record printable on one page.
const (
	maxKey      = 64
	maxName     = 200
	maxTag      = 64
	maxTags     = 100
	maxLongText = 10000
)

// problems gathers every wrong field of an input so that the caller can fix
// them all at once. row, when set, is copied into each problem (batch
// operations number their rows from 1).
type problems struct {
	row  int
	list []fault.Problem
}

func (p *problems) add(field, format string, args ...any) {
	p.list = append(p.list, fault.Problem{Field: field, Row: p.row, Message: fmt.Sprintf(format, args...)})
}

func (p *problems) err(msg string) error { return fault.Invalids(msg, p.list) }

// key checks and returns an object or inspector key, trimmed. Keys go into
// draw populations and proofs: no TAB, CR, LF (DRAW-SPEC), at most 64
// characters.
func (p *problems) key(field, s string) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		p.add(field, "is required")
	case textProblem(s) != "":
		p.add(field, "%s", textProblem(s))
	case utf8.RuneCountInString(s) > maxKey:
		p.add(field, "has %d characters, at most %d are allowed", utf8.RuneCountInString(s), maxKey)
	}
	return s
}

// objectKey checks the key of an object of kind: an enterprise's is its
// unified social credit code, written canonically.
func (p *problems) objectKey(field, kind, s string) string {
	if kind != "enterprise" {
		return p.key(field, s)
	}
	s = uscc.Normalize(s)
	if s == "" {
		p.add(field, "is required")
		return s
	}
	if err := uscc.Validate(s); err != nil {
		p.add(field, "%v", err)
	}
	return s
}

// line checks a one-line text: trimmed, no control separators, at most max
// characters; required says whether it may be empty.
func (p *problems) line(field, s string, max int, required bool) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "" && required:
		p.add(field, "is required")
	case textProblem(s) != "":
		p.add(field, "%s", textProblem(s))
	case utf8.RuneCountInString(s) > max:
		p.add(field, "has %d characters, at most %d are allowed", utf8.RuneCountInString(s), max)
	}
	return s
}

// text checks a free text that may span lines.
func (p *problems) text(field, s string) string {
	s = strings.TrimSpace(s)
	switch {
	case strings.IndexByte(s, 0) >= 0:
		p.add(field, "contains a NUL byte")
	case !utf8.ValidString(s):
		p.add(field, "is not valid UTF-8")
	case utf8.RuneCountInString(s) > maxLongText:
		p.add(field, "has %d characters, at most %d are allowed", utf8.RuneCountInString(s), maxLongText)
	}
	return s
}

// tags checks a set of tags and returns it trimmed, without duplicates, in
// order; never nil.
func (p *problems) tags(field string, tags []string) []string {
	if len(tags) > maxTags {
		p.add(field, "has %d tags, at most %d are allowed", len(tags), maxTags)
		return []string{}
	}
	out := make([]string, 0, len(tags))
	for i, t := range tags {
		f := fmt.Sprintf("%s[%d]", field, i)
		t = strings.TrimSpace(t)
		if t == "" {
			p.add(f, "is empty")
			continue
		}
		t = p.line(f, t, maxTag, true)
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// vocab maps s to its canonical code in v; empty s gives def.
func (p *problems) vocab(field string, v *Vocabulary, s, def string) string {
	if strings.TrimSpace(s) == "" {
		if def == "" {
			p.add(field, "is required; use one of %s", strings.Join(v.Codes(), ", "))
		}
		return def
	}
	c, ok := v.Canonical(s)
	if !ok {
		p.add(field, "%s", vocabProblem(v, s))
	}
	return c
}

func vocabProblem(v *Vocabulary, s string) string {
	return fmt.Sprintf("%q is not a known %s; use one of %s", s, v.Name, strings.Join(v.Codes(), ", "))
}

// date parses an optional YYYY-MM-DD date.
func (p *problems) date(field, s string) *workday.Date {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	d, err := workday.ParseDate(s)
	if err != nil || !d.IsValid() {
		p.add(field, "%q is not a date written as YYYY-MM-DD", s)
		return nil
	}
	return &d
}

// attributes checks a JSON object of free attributes; empty means {}.
func (p *problems) attributes(field string, raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage(`{}`)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		p.add(field, "is not valid JSON")
		return raw
	}
	if _, ok := v.(map[string]any); !ok {
		p.add(field, "must be a JSON object")
		return raw
	}
	// PostgreSQL's jsonb cannot hold U+0000.
	if hasNUL(v) {
		p.add(field, "contains the character U+0000, which cannot be stored")
	}
	return raw
}

// textProblem says why s cannot be a key or one-line text, or "".
func textProblem(s string) string {
	var fe *draw.FieldError
	if err := draw.ValidateText("", s); errors.As(err, &fe) {
		return fe.Problem
	}
	return ""
}

func hasNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.IndexByte(v, 0) >= 0
	case []any:
		return slices.ContainsFunc(v, hasNUL)
	case map[string]any:
		for k, e := range v {
			if strings.IndexByte(k, 0) >= 0 || hasNUL(e) {
				return true
			}
		}
	}
	return false
}

// ratio checks a decimal ratio in [0, 1] with the draw's own parser, so
// that every ratio the list accepts is one the draw accepts.
func (p *problems) ratio(field, s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		p.add(field, "is required: a decimal from 0 to 1 such as \"0.05\"")
		return s
	}
	if err := (draw.Quota{Ratio: s}).Validate(); err != nil {
		msg := err.Error()
		var fe *draw.FieldError
		if errors.As(err, &fe) {
			msg = fe.Problem
		}
		p.add(field, "%s", msg)
	}
	return s
}

// today is the current date in China.

// dateArg renders an optional date as a bind parameter.
func dateArg(d *workday.Date) driver.Value {
	if d == nil {
		return nil
	}
	return d.String()
}

// dateScan scans a PostgreSQL date into a *workday.Date (nil for NULL).
type dateScan struct{ p **workday.Date }

func (s dateScan) Scan(src any) error {
	if src == nil {
		*s.p = nil
		return nil
	}
	d, err := dateValue(src)
	if err != nil {
		return err
	}
	*s.p = &d
	return nil
}

// dateScanValue scans a non-NULL PostgreSQL date into a workday.Date.
type dateScanValue struct{ p *workday.Date }

func (s dateScanValue) Scan(src any) error {
	d, err := dateValue(src)
	if err != nil {
		return err
	}
	*s.p = d
	return nil
}

func dateValue(src any) (workday.Date, error) {
	switch v := src.(type) {
	case time.Time:
		// lib/pq returns a date as midnight of that day in UTC or in a
		// zero offset: its calendar fields are the date.
		y, m, d := v.Date()
		return workday.Date{Year: y, Month: m, Day: d}, nil
	case []byte:
		return workday.ParseDate(string(v))
	case string:
		return workday.ParseDate(v)
	}
	return workday.Date{}, fmt.Errorf("library: cannot scan %T into a date", src)
}
