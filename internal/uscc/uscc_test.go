package uscc

import (
	"bufio"
	"errors"
	"github.com/spotcheck-gov/spotcheck/internal/drawvectors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// published are codes printed on real business licences and in public
// registers (several from the list of codes found online in python-stdnum's
// tests). They cover enterprises (91), individual businesses (92), a public
// institution (12), "MA" organization codes issued since 2015, and check
// characters X, 0 and letters at positions 17 and 18.
var published = []string{
	"914403001922038216",
	"91440300708461136T",
	"91330100799655058B",
	"91110108558521630L",
	"91110000802100433B",
	"91110000600037341L",
	"121200004013590816",
	"91152201078371135X",
	"911522010783762860",
	"9115220107837757XE",
	"9131012056010553X5",
	"913304007429141869",
	"91310115MA1K3BTP2B",
	"91340600MA2PBM9HXD",
	"91620105L015101280",
	"92340602MA2PEL8AXA",
	"92340621MA2PBN0KXX",
	"92340603MA2UK3DT5H",
}

func TestValidatePublished(t *testing.T) {
	for _, code := range published {
		if err := Validate(code); err != nil {
			t.Errorf("Validate(%s): %v", code, err)
		}
		got, err := CheckChar(code[:17])
		if err != nil || got != code[17] {
			t.Errorf("CheckChar(%s) = %q, %v; want %q", code[:17], got, err, code[17])
		}
		org, err := OrgCheckChar(code[8:16])
		if err != nil || org != code[16] {
			t.Errorf("OrgCheckChar(%s) = %q, %v; want %q", code[8:16], org, err, code[16])
		}
	}
}

func TestWeights(t *testing.T) {
	// GB 32100-2015, table of weighting factors W_i = 3^(i-1) mod 31.
	want := [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}
	if weights != want {
		t.Errorf("weights = %v, want %v", weights, want)
	}
	if len(charset) != 31 {
		t.Errorf("charset has %d characters, want 31", len(charset))
	}
	for _, c := range "IOSVZ" {
		if strings.ContainsRune(charset, c) {
			t.Errorf("charset contains %c", c)
		}
	}
}

func TestOrgCheckChar(t *testing.T) {
	tests := []struct {
		body string
		want byte
	}{
		{"00000000", '0'}, // 11 - 0 = 11, written 0
		{"10000000", '8'}, // 11 - 3×1
		{"00000001", '9'}, // 11 - 2×1
		{"00010000", '1'}, // 11 - 10×1
		{"40000000", 'X'}, // 11 - (3×4 mod 11 = 1) = 10, written X
		{"A0000000", '3'}, // A counts 10: 11 - (30 mod 11 = 8)
		{"L0151012", '8'}, // L counts 21 (not 20, its GB 32100 value): from 91620105L015101280
	}
	for _, tt := range tests {
		got, err := OrgCheckChar(tt.body)
		if err != nil || got != tt.want {
			t.Errorf("OrgCheckChar(%s) = %q, %v; want %q", tt.body, got, err, tt.want)
		}
	}
	for _, body := range []string{"", "1234567", "123456789", "1234567a", "1234567-", "１2345678"} {
		if c, err := OrgCheckChar(body); err == nil {
			t.Errorf("OrgCheckChar(%q) = %q, want error", body, c)
		}
	}
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		code string
		pos  int
		msg  string
	}{
		{"", 0, "it is empty"},
		{"91330424094482249", 0, "it has 17 characters, expected 18"},
		{"91330424094482249Y1", 0, "it has 19 characters, expected 18"},
		{"91330424094482249X", 18, `check character is "X", expected "Y"`},
		{"91330424094482248Y", 17, `organization code check character is "8", expected "9"`},
		{"91330424094482241Y", 17, `organization code check character is "1", expected "9"`},
		{"913304240944822A9Y", 17, `organization code check character is "9", expected "8"`},
		{"91330424094482A49Y", 17, `organization code check character is "9", expected "X"`},
		{"9133042409448224AY", 17, `the organization code check character must be a digit or "X", found "A"`},
		{"9133A424094482249Y", 5, `the administrative division code (positions 3–8) must be 6 digits, found "A"`},
		{"A1330424094482249Y", 18, `check character is "Y", expected "X"`},
		{"91330424O94482249Y", 9, `the letter "O" is never used in codes (I, O, S, V and Z are left out); did you mean "0"?`},
		{"91330424o94482249Y", 9, `the letter "O" is never used in codes (I, O, S, V and Z are left out); did you mean "0"?`},
		{"9133042409448224 9Y", 17, `" " is a space; codes contain no spaces`},
		{"913304240944822４9Y", 16, `"４" is a full-width character; use "4"`},
		{"91330424094482249y", 18, `"y" is lower case; codes use capital letters`},
		{"9133042409448，2249Y", 14, `"，" is not a character used in codes (digits and capital letters only)`},
		{"91330424094482249\xff", 18, "the text is not valid UTF-8"},
	}
	for _, tt := range tests {
		err := Validate(tt.code)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Validate(%q) = %v, want *Error", tt.code, err)
			continue
		}
		if e.Pos != tt.pos || e.Msg != tt.msg {
			t.Errorf("Validate(%q) = position %d, %q; want position %d, %q", tt.code, e.Pos, e.Msg, tt.pos, tt.msg)
		}
	}
}

func TestErrorText(t *testing.T) {
	err := Validate("91330424094482249X")
	want := `invalid unified social credit code: position 18: check character is "X", expected "Y"`
	if err == nil || err.Error() != want {
		t.Errorf("Validate error = %q, want %q", err, want)
	}
	err = Validate("123")
	want = "invalid unified social credit code: it has 3 characters, expected 18"
	if err == nil || err.Error() != want {
		t.Errorf("Validate error = %q, want %q", err, want)
	}
}

// TestSingleCharacterCorruption replaces each character of valid codes by
// every other character, valid or not, and requires Validate to notice. The
// GB 32100 check guarantees it for positions 1–17: 31 is prime, so a change
// of value d at weight w alters the sum by d×w, never a multiple of 31.
func TestSingleCharacterCorruption(t *testing.T) {
	replacements := charset + "IOSVZabcxyz -/，０９Ａ"
	for _, code := range published {
		runes := []rune(code)
		for i, orig := range runes {
			for _, r := range replacements {
				if r == orig {
					continue
				}
				corrupt := append([]rune(nil), runes...)
				corrupt[i] = r
				if err := Validate(string(corrupt)); err == nil {
					t.Errorf("Validate(%s) = nil, from %s with position %d changed", string(corrupt), code, i+1)
				}
			}
		}
	}
}

// TestAdjacentTranspositions swaps neighbouring distinct characters in
// positions 1–17. The GB 32100 check detects every such swap: neighbouring
// weights differ by a factor of 3, so the sum changes by 2×w×(a−b) ≠ 0 mod 31.
func TestAdjacentTranspositions(t *testing.T) {
	for _, code := range published {
		for i := 0; i+1 < 17; i++ {
			if code[i] == code[i+1] {
				continue
			}
			b := []byte(code)
			b[i], b[i+1] = b[i+1], b[i]
			if err := Validate(string(b)); err == nil {
				t.Errorf("Validate(%s) = nil, from %s with positions %d and %d swapped", b, code, i+1, i+2)
			}
		}
	}
}

func TestCheckChar(t *testing.T) {
	// A code whose weighted sum is a multiple of 31 has check character 0,
	// not the out-of-range 31.
	if c, err := CheckChar("00000000000000000"); err != nil || c != '0' {
		t.Errorf("CheckChar(17 zeros) = %q, %v; want '0'", c, err)
	}
	// 1 at the first position: 31 - 1 = 30 = "Y", the last character.
	if c, err := CheckChar("10000000000000000"); err != nil || c != 'Y' {
		t.Errorf("CheckChar(1 then 16 zeros) = %q, %v; want 'Y'", c, err)
	}
	for _, bad := range []string{"", "9133042409448224", "913304240944822499", "91330424094482I49", "９1330424094482249"} {
		if c, err := CheckChar(bad); err == nil {
			t.Errorf("CheckChar(%q) = %q, want error", bad, c)
		}
	}
}

func TestGenerate(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	seen := make(map[string]bool)
	ma := 0
	for range 10000 {
		code := Generate(r, "330402")
		if err := Validate(code); err != nil {
			t.Fatalf("Generate produced %s: %v", code, err)
		}
		if !strings.HasPrefix(code, "91330402") {
			t.Fatalf("Generate produced %s, want prefix 91330402", code)
		}
		if code[8:10] == "MA" {
			ma++
		}
		seen[code] = true
	}
	if len(seen) < 9990 {
		t.Errorf("only %d distinct codes in 10000", len(seen))
	}
	if ma < 4000 || ma > 6000 {
		t.Errorf("%d of 10000 codes have MA organization codes, want about half", ma)
	}

	// The same seed gives the same codes.
	a, b := rand.New(rand.NewPCG(7, 7)), rand.New(rand.NewPCG(7, 7))
	for range 10 {
		if x, y := Generate(a, "330481"), Generate(b, "330481"); x != y {
			t.Fatalf("same seed, different codes: %s, %s", x, y)
		}
	}
	if err := Validate(Generate(nil, "110000")); err != nil {
		t.Errorf("Generate(nil, ...): %v", err)
	}
}

func TestGenerateBadRegion(t *testing.T) {
	for _, region := range []string{"", "33040", "3304021", "33040A", "３30402"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Generate(r, %q) did not panic", region)
				}
			}()
			Generate(rand.New(rand.NewPCG(1, 1)), region)
		}()
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"91330424094482249Y", "91330424094482249Y"},
		{" 91330424094482249y\t", "91330424094482249Y"},
		{"9133 0424 0944 8224 9Y", "91330424094482249Y"},
		{"９１３３０４２４０９４４８２２４９Ｙ", "91330424094482249Y"},
		{"91330424-09448224-9Y", "91330424094482249Y"},
		{"91330424\u300009448224９y", "91330424094482249Y"},
		// O is not guessed to be 0.
		{"91330424o94482249Y", "91330424O94482249Y"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestDrawVectorKeys reports how many keys of the DRAW-SPEC test vectors
// are valid codes. The vectors are test data for the draw, not for this
// package, so the figure is reported rather than required.
func TestDrawVectorKeys(t *testing.T) {
	files, _ := filepath.Glob(drawvectors.File(t, "draw-*.tsv"))
	if len(files) == 0 {
		t.Fatal("the draw vectors have no draw-*.tsv file")
	}
	total, valid := 0, 0
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		fileTotal, fileValid := 0, 0
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			key, _, _ := strings.Cut(sc.Text(), "\t")
			if key == "" {
				continue
			}
			fileTotal++
			if err := Validate(key); err != nil {
				t.Logf("%s: %s: %v", filepath.Base(name), key, err)
				continue
			}
			fileValid++
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: %d of %d keys are valid codes", filepath.Base(name), fileValid, fileTotal)
		total += fileTotal
		valid += fileValid
	}
	t.Logf("draw vectors: %d of %d keys are valid unified social credit codes", valid, total)
}
