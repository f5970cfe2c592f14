package draw

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// An Entry is one object of a batch's population: its public identifier and
// the label of its stratum, such as "item=ZR-03;risk=high;region=330402".
// The drawn list of a [Result] or a [Proof] is a list of entries too.
type Entry struct {
	ObjectKey string `json:"object_key"`
	Stratum   string `json:"stratum"`
}

// maxLine bounds a line of the canonical population form. Object keys and
// labels are short identifiers; the bound keeps a malformed upload from
// being buffered whole.
const maxLine = 64 << 10

// WritePopulation writes the canonical form of population to w: one line
// "object_key TAB stratum LF" per entry, sorted by object key bytewise, and
// returns population_hash, the lowercase hex SHA-256 of exactly the bytes
// written. The population itself is left in its order.
//
// Every entry is checked before the first byte is written: keys and labels
// must be non-empty and pass [ValidateText], and keys must be unique. The
// error then wraps a *[FieldError] naming the entry, such as
// "population[17].object_key".
func WritePopulation(w io.Writer, population []Entry) (string, error) {
	for i, e := range population {
		if fe := checkEntry(i, e); fe != nil {
			return "", fmt.Errorf("draw: writing population: %w", fe)
		}
	}
	// Sorting copies rather than indexes saves an indirection per
	// comparison; a population that comes sorted, as from a query ordered
	// by key, costs one pass.
	sorted := population
	if !slices.IsSortedFunc(population, compareKeys) {
		sorted = slices.Clone(population)
		slices.SortFunc(sorted, compareKeys)
	}
	for k := 1; k < len(sorted); k++ {
		if key := sorted[k].ObjectKey; key == sorted[k-1].ObjectKey {
			// Rare: find the entries again to name them.
			i := slices.IndexFunc(population, func(e Entry) bool { return e.ObjectKey == key })
			j := i + 1 + slices.IndexFunc(population[i+1:], func(e Entry) bool { return e.ObjectKey == key })
			return "", fmt.Errorf("draw: writing population: %w", duplicateError(i, j, key))
		}
	}

	pw := NewPopulationWriter(w)
	for _, e := range sorted {
		pw.line(e)
	}
	return pw.Sum()
}

// A PopulationWriter writes the canonical form of a population that
// arrives entry by entry, already sorted, as [WritePopulation] writes it,
// without holding the population in memory: a freeze merges its sorted
// runs straight into it. Unlike WritePopulation it has written the entries
// before a bad one, which Add refuses with the error WritePopulation would
// give, numbered by its place in the sorted order.
type PopulationWriter struct {
	bw      *bufio.Writer
	h       hash.Hash
	n       int
	prev    string
	checked map[string]bool // labels, few and repeated: checked once
}

// NewPopulationWriter returns a writer of the canonical form to w.
func NewPopulationWriter(w io.Writer) *PopulationWriter {
	h := sha256.New()
	return &PopulationWriter{bw: bufio.NewWriterSize(io.MultiWriter(w, h), 64<<10), h: h, checked: map[string]bool{}}
}

// Add checks e and writes its line; its key must sort after the last one.
func (p *PopulationWriter) Add(e Entry) error {
	if fe := checkKey(p.n, e.ObjectKey); fe != nil {
		return fmt.Errorf("draw: writing population: %w", fe)
	}
	if !p.checked[e.Stratum] {
		if fe := checkLabel(p.n, e.Stratum); fe != nil {
			return fmt.Errorf("draw: writing population: %w", fe)
		}
		p.checked[e.Stratum] = true
	}
	if p.n > 0 && e.ObjectKey <= p.prev {
		if e.ObjectKey == p.prev {
			return fmt.Errorf("draw: writing population: %w", duplicateError(p.n-1, p.n, e.ObjectKey))
		}
		return fmt.Errorf("draw: writing population: %w", &FieldError{Field: "population[" + strconv.Itoa(p.n) + "].object_key",
			Problem: fmt.Sprintf("%q sorts before %q, the key before it", e.ObjectKey, p.prev)})
	}
	p.line(e)
	return nil
}

// line writes e's line unchecked.
func (p *PopulationWriter) line(e Entry) {
	p.bw.WriteString(e.ObjectKey)
	p.bw.WriteByte('\t')
	p.bw.WriteString(e.Stratum)
	p.bw.WriteByte('\n')
	p.prev = e.ObjectKey
	p.n++
}

// Sum flushes what is written and returns population_hash.
func (p *PopulationWriter) Sum() (string, error) {
	if err := p.bw.Flush(); err != nil {
		return "", fmt.Errorf("draw: writing population: %w", err)
	}
	return hex.EncodeToString(p.h.Sum(nil)), nil
}

func compareKeys(a, b Entry) int {
	return strings.Compare(a.ObjectKey, b.ObjectKey)
}

// PopulationHash returns the population_hash of population, the hash that
// [WritePopulation] returns, without writing anything.
func PopulationHash(population []Entry) (string, error) {
	return WritePopulation(io.Discard, population)
}

// checkEntry reports what is wrong with the i-th entry of a population, if
// anything but a duplicate key.
func checkEntry(i int, e Entry) *FieldError {
	if fe := checkKey(i, e.ObjectKey); fe != nil {
		return fe
	}
	return checkLabel(i, e.Stratum)
}

// checkKey and checkLabel only build the field name when there is a
// problem: they run on every entry of populations of millions.

func checkKey(i int, key string) *FieldError {
	problem := textProblem(key)
	if key == "" {
		problem = "is empty"
	}
	if problem == "" {
		return nil
	}
	return &FieldError{Field: "population[" + strconv.Itoa(i) + "].object_key", Problem: problem}
}

func checkLabel(i int, label string) *FieldError {
	problem := textProblem(label)
	if label == "" {
		problem = "is empty"
	}
	if problem == "" {
		return nil
	}
	return &FieldError{Field: "population[" + strconv.Itoa(i) + "].stratum", Problem: problem}
}

// duplicateError reports that entries i < j share key.
func duplicateError(i, j int, key string) *FieldError {
	return &FieldError{
		Field:   "population[" + strconv.Itoa(j) + "].object_key",
		Problem: fmt.Sprintf("%q is also population[%d]'s key", key, i),
	}
}

// ParsePopulation reads a population in canonical form, as written by
// [WritePopulation] and published beside a proof. It accepts nothing but
// the canonical form, so that a population that parses hashes to the same
// population_hash as the one it was written from: lines must be
// "object_key TAB stratum LF" with a non-empty key and label free of TAB,
// CR, NUL and invalid UTF-8, keys strictly ascending bytewise, and the last
// line must end with LF. An empty input is an empty population.
//
// The error for a malformed line wraps a *[FieldError] whose Field is
// "line N", counting from 1.
func ParsePopulation(r io.Reader) ([]Entry, error) {
	br := bufio.NewReaderSize(r, maxLine)
	// Labels repeat on every line of a stratum: keep one copy of each.
	labels := make(map[string]string)
	var population []Entry
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		switch {
		case err == io.EOF && len(line) == 0:
			return population, nil
		case err == io.EOF:
			return nil, lineError(n, "does not end with LF")
		case errors.Is(err, bufio.ErrBufferFull):
			return nil, lineError(n, fmt.Sprintf("is longer than %d bytes", maxLine))
		case err != nil:
			return nil, fmt.Errorf("draw: reading population: %w", err)
		}
		line = line[:len(line)-1]
		key, label, ok := bytes.Cut(line, []byte{'\t'})
		switch {
		case bytes.IndexByte(line, '\r') >= 0:
			return nil, lineError(n, "contains a CR (lines must end with LF alone)")
		case !ok:
			return nil, lineError(n, "has no TAB between object_key and stratum")
		case bytes.IndexByte(label, '\t') >= 0:
			return nil, lineError(n, "has more than one TAB")
		case len(key) == 0:
			return nil, lineError(n, "has an empty object_key")
		case len(label) == 0:
			return nil, lineError(n, "has an empty stratum")
		case bytes.IndexByte(line, 0) >= 0:
			return nil, lineError(n, "contains a NUL byte")
		case !utf8.Valid(line):
			return nil, lineError(n, "is not valid UTF-8")
		}
		if len(population) > 0 {
			// Comparing string(key) directly does not allocate.
			switch prev := population[len(population)-1].ObjectKey; {
			case string(key) == prev:
				return nil, lineError(n, fmt.Sprintf("repeats object_key %q of line %d", key, n-1))
			case string(key) < prev:
				return nil, lineError(n, fmt.Sprintf("object_key %q sorts before %q of line %d", key, prev, n-1))
			}
		}
		stratum, ok := labels[string(label)]
		if !ok {
			stratum = string(label)
			labels[stratum] = stratum
		}
		population = append(population, Entry{ObjectKey: string(key), Stratum: stratum})
	}
}

func lineError(n int, problem string) error {
	return fmt.Errorf("draw: parsing population: %w", &FieldError{Field: "line " + strconv.Itoa(n), Problem: problem})
}
