package bulk

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// A layout maps the columns of one file to the columns of a library.
type layout struct {
	lib       *Library
	headerRow int
	headers   []string // the file's header cells, trimmed, for messages
	fileCol   []int    // file column -> library column, or -1 for an empty header
	fileOf    []int    // library column -> file column, or -1
	present   []bool   // library column -> the file has it
	staged    []int    // library columns written to the staging table, in library order
}

// headerIndex maps each normalised header, name and alias to its column,
// per library.
var headerIndex = map[*Library]map[string]int{}

func init() {
	for _, l := range []*Library{Objects, Inspectors} {
		idx := map[string]int{}
		for i, c := range l.columns {
			for _, h := range append([]string{c.name, c.header}, c.aliases...) {
				n := normalizeHeader(h)
				if j, dup := idx[n]; dup && j != i {
					panic(fmt.Sprintf("bulk: header %q names two columns of %s", h, l.Name))
				}
				idx[n] = i
			}
		}
		headerIndex[l] = idx
	}
}

// normalizeHeader undoes what people do to headers: surrounding and inner
// spaces, full-width letters and brackets, a "*" marking a required column,
// a trailing "(必填)" or "(选填)", letter case.
func normalizeHeader(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\uFEFF' || unicode.IsSpace(r) || r == '*' || r == '＊':
			continue
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFF01 - '!'
		}
		b.WriteRune(unicode.ToLower(r))
	}
	n := b.String()
	for _, note := range []string{"(必填)", "(选填)", "(可选)", "(必填项)"} {
		n = strings.TrimSuffix(n, note)
	}
	return n
}

// columnLetter returns the spreadsheet letter of a 0-based column: A, …, Z,
// AA, ….
func columnLetter(i int) string {
	var b []byte
	for i++; i > 0; i = (i - 1) / 26 {
		b = append([]byte{byte('A' + (i-1)%26)}, b...)
	}
	return string(b)
}

// ref names file column i for a problem: its letter and its header.
func (lo *layout) ref(i int) string {
	if i < len(lo.headers) && lo.headers[i] != "" {
		return columnLetter(i) + " (" + lo.headers[i] + ")"
	}
	return columnLetter(i)
}

// newLayout reads a header row. It returns the layout and the problems of
// the header: unknown, repeated and missing columns. The layout is usable
// for checking rows even when there are problems.
func newLayout(l *Library, row int, cells []string) (*layout, []fault.Problem) {
	lo := &layout{lib: l, headerRow: row, present: make([]bool, len(l.columns)), fileOf: make([]int, len(l.columns))}
	for i := range lo.fileOf {
		lo.fileOf[i] = -1
	}
	var problems []fault.Problem
	idx := headerIndex[l]
	var unknown []string
	for i, cell := range cells {
		h := strings.TrimSpace(strings.TrimPrefix(cell, "\uFEFF"))
		lo.headers = append(lo.headers, h)
		if h == "" {
			lo.fileCol = append(lo.fileCol, -1)
			continue
		}
		c, ok := idx[normalizeHeader(h)]
		switch {
		case !ok:
			lo.fileCol = append(lo.fileCol, -1)
			unknown = append(unknown, columnLetter(i))
			problems = append(problems, fault.Problem{Row: row, Column: lo.ref(i),
				Message: fmt.Sprintf("unknown column %q", h)})
		case lo.present[c]:
			lo.fileCol = append(lo.fileCol, -1)
			problems = append(problems, fault.Problem{Row: row, Column: lo.ref(i),
				Message: fmt.Sprintf("column %q repeats column %s, both are %s", h, lo.ref(lo.fileOf[c]), l.columns[c].label())})
		default:
			lo.fileCol = append(lo.fileCol, c)
			lo.present[c] = true
			lo.fileOf[c] = i
		}
	}
	if len(unknown) > 0 {
		// One hint after the unknown columns, rather than the list in each.
		problems = append(problems, fault.Problem{Row: row,
			Message: "the columns of " + l.Name + " are: " + l.columnList()})
	}
	for i, c := range l.columns {
		if c.required && !lo.present[i] {
			problems = append(problems, fault.Problem{Row: row,
				Message: "missing required column " + c.label()})
		}
	}
	for i, c := range l.columns {
		// A file without a kind column lists enterprises: the kind is
		// staged as if every cell said so.
		if lo.present[i] || (c.name == "kind" && c.typ == typeVocab) {
			lo.staged = append(lo.staged, i)
		}
	}
	return lo, problems
}

func (l *Library) columnList() string {
	parts := make([]string, len(l.columns))
	for i, c := range l.columns {
		parts[i] = c.label()
		if c.required {
			parts[i] += " required"
		}
	}
	return strings.Join(parts, ", ")
}
