package draw

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

func TestWritePopulation(t *testing.T) {
	population := []Entry{
		{"b", "s2"},
		{"a", "s1"},
		{"B", "s1"},
		{"ab", "区域=330402"},
	}
	original := slices.Clone(population)
	var buf bytes.Buffer
	hash, err := WritePopulation(&buf, population)
	if err != nil {
		t.Fatal(err)
	}
	const want = "B\ts1\na\ts1\nab\t区域=330402\nb\ts2\n"
	if buf.String() != want {
		t.Errorf("canonical form = %q, want %q", buf.String(), want)
	}
	sum := sha256.Sum256([]byte(want))
	if hash != hex.EncodeToString(sum[:]) {
		t.Errorf("hash = %s, want %x", hash, sum)
	}
	if h, err := PopulationHash(population); err != nil || h != hash {
		t.Errorf("PopulationHash = %s, %v; want %s", h, err, hash)
	}
	if !slices.Equal(population, original) {
		t.Errorf("WritePopulation reordered its argument")
	}

	parsed, err := ParsePopulation(strings.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	sorted := slices.SortedFunc(slices.Values(original), func(a, b Entry) int { return strings.Compare(a.ObjectKey, b.ObjectKey) })
	if !slices.Equal(parsed, sorted) {
		t.Errorf("ParsePopulation = %v, want %v", parsed, sorted)
	}

	if h, err := PopulationHash(nil); err != nil || h != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("PopulationHash(nil) = %s, %v", h, err)
	}
}

func TestWritePopulationInvalid(t *testing.T) {
	tests := []struct {
		population []Entry
		want       string
	}{
		{[]Entry{{"a", "s"}, {"", "s"}}, "population[1].object_key: is empty"},
		{[]Entry{{"a", ""}}, "population[0].stratum: is empty"},
		{[]Entry{{"a\tb", "s"}}, "population[0].object_key: contains a TAB at byte 1"},
		{[]Entry{{"a", "s\n"}}, "population[0].stratum: contains an LF at byte 1"},
		{[]Entry{{"a\r", "s"}}, "population[0].object_key: contains a CR at byte 1"},
		{[]Entry{{"a\x00", "s"}}, "population[0].object_key: contains a NUL byte at byte 1"},
		{[]Entry{{"a\xff", "s"}}, "population[0].object_key: is not valid UTF-8"},
		{[]Entry{{"b", "s"}, {"a", "s"}, {"b", "t"}}, `population[2].object_key: "b" is also population[0]'s key`},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		_, err := WritePopulation(&buf, tt.population)
		fe, ok := errors.AsType[*FieldError](err)
		if !ok || fe.Error() != tt.want {
			t.Errorf("WritePopulation(%q) = %v, want %s", tt.population, err, tt.want)
		}
		if buf.Len() != 0 {
			t.Errorf("WritePopulation(%q) wrote %q before failing", tt.population, buf.String())
		}
	}
}

func TestParsePopulationRejects(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"b\ts\na\ts\n", "line 2: object_key \"a\" sorts before \"b\" of line 1"},
		{"a\ts\nb\ts\nb\tt\n", "line 3: repeats object_key \"b\" of line 2"},
		{"a\ts\nb s\n", "line 2: has no TAB between object_key and stratum"},
		{"a\ts\r\n", "line 1: contains a CR"},
		{"a\ts\n\tt\n", "line 2: has an empty object_key"},
		{"a\t\n", "line 1: has an empty stratum"},
		{"a\ts\tx\n", "line 1: has more than one TAB"},
		{"a\ts\nb\ts", "line 2: does not end with LF"},
		{"a\ts\n\n", "line 2: has no TAB"},
		{"a\x00\ts\n", "line 1: contains a NUL byte"},
		{"a\xff\ts\n", "line 1: is not valid UTF-8"},
		{"a\t" + strings.Repeat("s", maxLine) + "\n", "line 1: is longer than"},
	}
	for _, tt := range tests {
		_, err := ParsePopulation(strings.NewReader(tt.in))
		fe, ok := errors.AsType[*FieldError](err)
		if !ok || !strings.HasPrefix(fe.Error(), tt.want) {
			t.Errorf("ParsePopulation(%q) = %v, want %s", tt.in, err, tt.want)
		}
	}
	if p, err := ParsePopulation(strings.NewReader("")); err != nil || len(p) != 0 {
		t.Errorf("ParsePopulation(\"\") = %v, %v; want an empty population", p, err)
	}
}

// The streaming writer writes and hashes what WritePopulation does, and
// refuses what it refuses, once the population is in key order.
func TestPopulationWriter(t *testing.T) {
	sorted := []Entry{{"B", "s1"}, {"a", "s1"}, {"ab", "区域=330402"}, {"b", "s2"}}
	var want bytes.Buffer
	wantHash, err := WritePopulation(&want, sorted)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	pw := NewPopulationWriter(&got)
	for _, e := range sorted {
		if err := pw.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if h, err := pw.Sum(); err != nil || h != wantHash || got.String() != want.String() {
		t.Errorf("streamed %q, hash %s, %v; want %q, %s", got.String(), h, err, want.String(), wantHash)
	}
	for _, tt := range []struct {
		entries []Entry
		want    string
	}{
		{[]Entry{{"a", "s"}, {"a", "s"}}, `population[1].object_key: "a" is also population[0]'s key`},
		{[]Entry{{"b", "s"}, {"a", "s"}}, `population[1].object_key: "a" sorts before "b", the key before it`},
		{[]Entry{{"a", "s"}, {"b\tc", "s"}}, "population[1].object_key: contains a TAB at byte 1"},
		{[]Entry{{"a", "s"}, {"b", ""}}, "population[1].stratum: is empty"},
		{[]Entry{{"", "s"}}, "population[0].object_key: is empty"},
	} {
		pw := NewPopulationWriter(io.Discard)
		var err error
		for _, e := range tt.entries {
			if err = pw.Add(e); err != nil {
				break
			}
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Add(%q) = %v, want %s", tt.entries, err, tt.want)
		}
	}
}
