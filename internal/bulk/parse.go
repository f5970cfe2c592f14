package bulk

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/uscc"
)

// maxKeyLength is the longest key the public_key domain accepts.
const maxKeyLength = 64

// Regions resolves the region column: codes (any letter case) and names to
// codes.
type Regions struct {
	byText map[string]string
	list   []string // "南湖区 (330402)", for messages
}

// NewRegions builds the lookup from code and name pairs.
func NewRegions(codes, names []string) *Regions {
	r := &Regions{byText: map[string]string{}}
	for i, code := range codes {
		r.byText[code] = code
		r.byText[strings.ToLower(code)] = code
		r.byText[names[i]] = code
		r.list = append(r.list, names[i]+" ("+code+")")
	}
	return r
}

func (r *Regions) lookup(s string) (string, bool) {
	if c, ok := r.byText[s]; ok {
		return c, true
	}
	c, ok := r.byText[strings.ToLower(s)]
	return c, ok
}

// rowValues is one row being parsed: the cell text of each library column
// and the value staged for it (a string in PostgreSQL text form, or nil
// for NULL).
type rowValues struct {
	lo    *layout
	cells []string
	vals  []any
	bad   []bool // the cell already has a problem
}

// cellProblem is a problem of one library column of a row.
type cellProblem struct {
	col int
	msg string
}

// A parser checks rows of one file against a library.
type parser struct {
	lo          *layout
	regions     *Regions
	serialDates bool // XLSX: a bare number in a date column is an Excel serial date
	badText     func(string) bool
	badTextMsg  string
	r           rowValues
}

func newParser(lo *layout, regions *Regions, src *source) *parser {
	n := len(lo.lib.columns)
	p := &parser{lo: lo, regions: regions, serialDates: src.format == XLSX, badText: src.badText, badTextMsg: src.badTextMsg}
	p.r = rowValues{lo: lo, cells: make([]string, n), vals: make([]any, n), bad: make([]bool, n)}
	return p
}

// parse checks one row. empty reports a row without any text, which is
// skipped. Otherwise the row is good when it has no problems; then vals
// holds a value for every staged column (indexed by library column; valid
// until the next call). key is the row's key whenever the key cell itself
// is valid, so that duplicates are found in rows with other problems too.
func (p *parser) parse(row int, rec []string) (vals []any, key string, empty bool, problems []fault.Problem) {
	lo, r := p.lo, &p.r
	empty = true
	for _, cell := range rec {
		if strings.TrimSpace(cell) != "" {
			empty = false
			break
		}
	}
	if empty {
		return nil, "", true, nil
	}
	for i := range r.cells {
		r.cells[i], r.vals[i], r.bad[i] = "", nil, false
	}
	for i, cell := range rec {
		at := func(msg string) {
			problems = append(problems, fault.Problem{Row: row, Column: lo.ref(i), Message: msg})
		}
		c := -1
		if i < len(lo.fileCol) {
			c = lo.fileCol[i]
		}
		switch {
		case p.badText(cell):
			at(p.badTextMsg)
		case strings.IndexByte(cell, 0) >= 0:
			at("contains a NUL character")
		case c >= 0:
			r.cells[c] = strings.TrimSpace(cell)
			continue
		case i >= len(lo.headers) && strings.TrimSpace(cell) != "":
			at(fmt.Sprintf("has a value (%s) to the right of the last column of the header", quote(cell)))
		case i < len(lo.headers) && lo.headers[i] == "" && strings.TrimSpace(cell) != "":
			at(fmt.Sprintf("has a value (%s) in a column without a header", quote(cell)))
		}
		if c >= 0 {
			r.bad[c] = true
		}
	}
	for _, c := range lo.staged {
		if r.bad[c] {
			continue
		}
		if v, msg := p.cell(c, r.cells[c]); msg != "" {
			r.bad[c] = true
			problems = append(problems, p.problem(row, c, msg))
		} else {
			r.vals[c] = v
		}
	}
	if check := lo.lib.check; check != nil {
		for _, cp := range check(r) {
			problems = append(problems, p.problem(row, cp.col, cp.msg))
		}
	}
	if !r.bad[keyCol] {
		key, _ = r.vals[keyCol].(string)
	}
	if len(problems) > 0 {
		return nil, key, false, problems
	}
	return r.vals, key, false, nil
}

func (p *parser) problem(row, c int, msg string) fault.Problem {
	pr := fault.Problem{Row: row, Message: msg}
	if i := p.lo.fileOf[c]; i >= 0 {
		pr.Column = p.lo.ref(i)
	} else {
		pr.Column = p.lo.lib.columns[c].label()
	}
	return pr
}

// cell checks the text of one cell of library column c and returns the
// value to stage, or a message for the person correcting the file.
func (p *parser) cell(c int, s string) (any, string) {
	col := p.lo.lib.columns[c]
	if s == "" {
		switch {
		case col.required:
			return nil, "is empty; " + col.label() + " is required"
		case col.typ == typeDate:
			return nil, ""
		case col.typ == typeTags:
			return "{}", ""
		case col.def != "":
			return col.def, ""
		}
		return "", ""
	}
	if col.name == "address" {
		// Line breaks are kept, written one way: CSV readers turn CR LF
		// into LF, and a round trip must not change the address.
		s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\r' && r != '\n' }); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return nil, fmt.Sprintf("contains the control character U+%04X", r)
	}
	switch col.typ {
	case typeKey:
		if strings.ContainsAny(s, "\t\r\n") {
			return nil, "contains a tab or line break; keys are one line"
		}
		if n := utf8.RuneCountInString(s); n > maxKeyLength {
			return nil, fmt.Sprintf("is %d characters long; keys have at most %d", n, maxKeyLength)
		}
		return s, ""
	case typeText:
		if col.name != "address" && strings.ContainsAny(s, "\t\r\n") {
			return nil, "contains a tab or line break; " + col.label() + " is one line"
		}
		if col.name == "address" && strings.ContainsRune(s, '\t') {
			return nil, "contains a tab"
		}
		return s, ""
	case typeVocab:
		if v, ok := col.vocab.Canonical(s); ok {
			return v, ""
		}
		return nil, fmt.Sprintf("unknown %s %s: use %s", col.vocab.Name, quote(s), vocabHint(col.vocab))
	case typeRegion:
		if v, ok := p.regions.lookup(s); ok {
			return v, ""
		}
		list := p.regions.list
		more := ""
		if len(list) > 20 {
			list, more = list[:20], ", …"
		}
		return nil, fmt.Sprintf("unknown region %s: use a region name or code: %s%s", quote(s), strings.Join(list, ", "), more)
	case typeTags:
		tags, msg := splitTags(s)
		if msg != "" {
			return nil, msg
		}
		return arrayLiteral(tags), ""
	case typeDate:
		d, ok := parseDate(s, p.serialDates)
		if !ok {
			return nil, fmt.Sprintf("%s is not a date: write it as 2024-06-30", quote(s))
		}
		return d, ""
	case typeInt:
		n, err := strconv.Atoi(s)
		if err != nil {
			// XLSX stores numbers as floating point text, e.g. "20" or "2E1".
			f, ferr := strconv.ParseFloat(s, 64)
			if !p.serialDates || ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1e9 {
				return nil, fmt.Sprintf("%s is not a whole number", quote(s))
			}
			n = int(f)
		}
		if n < col.min || n > 1_000_000 {
			return nil, fmt.Sprintf("%d is out of range: use a whole number from %d to 1000000", n, col.min)
		}
		return strconv.Itoa(n), ""
	}
	return nil, "unsupported column" // programming error, caught by tests
}

// objectKindCol and keyCol are positions in the columns of a library.
var objectKindCol, _ = Objects.column("kind")

const keyCol = 0

// checkObject validates the key by the object's kind: an enterprise is
// known by its unified social credit code, written canonically.
func checkObject(r *rowValues) []cellProblem {
	kind, ok := r.vals[objectKindCol].(string)
	if r.bad[keyCol] || !ok || kind != "enterprise" {
		return nil
	}
	raw := r.cells[keyCol]
	code := uscc.Normalize(raw)
	if err := uscc.Validate(code); err != nil {
		msg := err.Error()
		if strings.ContainsAny(raw, "Ee") && strings.Contains(raw, "+") {
			msg += "; Excel has turned the code into a rounded number: format the column as text and enter the codes again"
		}
		return []cellProblem{{col: keyCol, msg: msg + "; an enterprise (对象类型 企业) is known by its 18-character unified social credit code"}}
	}
	r.vals[keyCol] = code
	return nil
}

// tagSeparators separate tags in one cell.
const tagSeparators = ";；,，|"

func splitTags(s string) ([]string, string) {
	parts := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(tagSeparators, r) })
	tags := parts[:0]
	for _, t := range parts {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if strings.ContainsAny(t, "\t\r\n") {
			return nil, "a tag contains a tab or line break; separate tags with ; , or |"
		}
		tags = append(tags, t)
	}
	return tags, ""
}

// arrayLiteral writes tags as a PostgreSQL text[] literal.
func arrayLiteral(tags []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, t := range tags {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for _, r := range t {
			if r == '"' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// dateLayouts are the ways dates are written in the files Chinese offices
// produce.
var dateLayouts = []string{"2006-01-02", "2006-1-2", "2006/1/2", "2006.1.2", "2006年1月2日", "20060102"}

// parseDate reads a date and returns it as YYYY-MM-DD. A time of day of
// midnight is accepted (spreadsheets add it); with serial, so is an Excel
// serial date (days since 1899-12-30).
func parseDate(s string, serial bool) (string, bool) {
	if i := strings.IndexAny(s, " T"); i > 0 {
		rest := strings.TrimSpace(s[i+1:])
		if rest != "00:00:00" && rest != "00:00" && rest != "0:00:00" && rest != "0:00" {
			return "", false
		}
		s = s[:i]
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() < 1900 {
				return "", false
			}
			return t.Format("2006-01-02"), true
		}
	}
	if serial {
		// 61 is 1900-03-01, after Excel's phantom 1900-02-29; 2958465 is
		// 9999-12-31.
		if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && f >= 61 && f <= 2958465 {
			return time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(f)).Format("2006-01-02"), true
		}
	}
	return "", false
}

// quote quotes a cell for a message, shortened when long.
func quote(s string) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > 40 {
		r := []rune(s)
		s = string(r[:40]) + "…"
	}
	return strconv.Quote(s)
}
