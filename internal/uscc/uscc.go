// Package uscc validates and generates China's unified social credit codes
// (统一社会信用代码), the 18-character identifiers of enterprises and other
// organizations defined by GB 32100-2015.
//
// A code is laid out as follows (positions are 1-based, as users count them):
//
//	1      registration authority (登记管理部门代码), e.g. 9 market regulation
//	2      organization type (机构类别代码), e.g. 1 enterprise, 2 individual business
//	3–8    administrative division of the registering authority (GB/T 2260), 6 digits
//	9–17   organization code (主体标识码, GB 11714): 8 characters and a check character
//	18     check character over positions 1–17 (GB 32100)
//
// Every character is a digit or a capital letter other than I, O, S, V and
// Z, which are left out because they are easily confused with other
// characters (I with 1, O with 0, S with 5, Z with 2).
//
// Positions 1 and 2 are checked against the character set only, not against
// the table of authorities and organization types in the standard's annex:
// that table has been extended several times since 2015 (for instance for
// rural collective economic organizations), a stale copy would reject codes
// that are genuinely issued, and the two check characters already catch
// mistyped characters there.
package uscc

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Length is the number of characters in a unified social credit code.
const Length = 18

// charset lists the code's characters in the order of their values: the
// value of a character in the GB 32100 check is its index here.
const charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// weights are the GB 32100 weights of positions 1–17: 3^i mod 31.
var weights = func() [Length - 1]int {
	var w [Length - 1]int
	p := 1
	for i := range w {
		w[i] = p
		p = p * 3 % 31
	}
	return w
}()

// orgWeights are the GB 11714 weights of the 8 characters of an
// organization code that precede its check character.
var orgWeights = [8]int{3, 7, 9, 10, 5, 8, 4, 2}

// Error describes what is wrong with a code, in terms a person correcting an
// import file can act on.
type Error struct {
	// Pos is the 1-based position of the character the problem is reported
	// at, or 0 when it concerns the code as a whole (its length).
	Pos int
	// Msg says what is wrong there.
	Msg string
}

func (e *Error) Error() string {
	if e.Pos == 0 {
		return "invalid unified social credit code: " + e.Msg
	}
	return fmt.Sprintf("invalid unified social credit code: position %d: %s", e.Pos, e.Msg)
}

// Validate reports whether code is a well-formed unified social credit code
// whose two check characters (the organization code's, at position 17, and
// the code's own, at position 18) are right. It returns nil or an *Error
// naming the first problem found. code must already be in canonical form; see
// Normalize for cleaning up user input.
//
// Validate cannot tell whether a code was ever issued: a random code passes
// both checks about once in 341 tries.
func Validate(code string) error {
	if code == "" {
		return &Error{Msg: "it is empty"}
	}
	// Characters are checked before the length, because a stray space or
	// full-width character explains a wrong length better than a count does.
	pos := 0
	for _, r := range code {
		pos++
		if err := checkRune(pos, r); err != nil {
			return err
		}
	}
	if pos != Length {
		return &Error{Msg: fmt.Sprintf("it has %d characters, expected %d", pos, Length)}
	}
	// From here on code is 18 bytes of charset.
	for i := 2; i < 8; i++ {
		if !isDigit(code[i]) {
			return &Error{Pos: i + 1, Msg: fmt.Sprintf("the administrative division code (positions 3–8) must be 6 digits, found %q", string(code[i]))}
		}
	}
	if c := code[16]; !isDigit(c) && c != 'X' {
		return &Error{Pos: 17, Msg: fmt.Sprintf(`the organization code check character must be a digit or "X", found %q`, string(c))}
	}
	if want := orgCheckChar(code[8:16]); code[16] != want {
		return &Error{Pos: 17, Msg: fmt.Sprintf("organization code check character is %q, expected %q", string(code[16]), string(want))}
	}
	if want := checkChar(code[:17]); code[17] != want {
		return &Error{Pos: 18, Msg: fmt.Sprintf("check character is %q, expected %q", string(code[17]), string(want))}
	}
	return nil
}

// checkRune reports whether r may appear in a code, explaining the usual
// ways it cannot: lower case, a left-out letter, full-width forms and spaces
// pasted from documents.
func checkRune(pos int, r rune) error {
	if r < utf8.RuneSelf && strings.IndexByte(charset, byte(r)) >= 0 {
		return nil
	}
	var msg string
	switch {
	case r >= 'a' && r <= 'z' && strings.IndexRune(charset, unicode.ToUpper(r)) >= 0:
		msg = fmt.Sprintf("%q is lower case; codes use capital letters", string(r))
	case r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z':
		msg = fmt.Sprintf("the letter %q is never used in codes (I, O, S, V and Z are left out)", string(unicode.ToUpper(r)))
		if hint, ok := lookalike[unicode.ToUpper(r)]; ok {
			msg += fmt.Sprintf("; did you mean %q?", string(hint))
		}
	case r >= 0xFF01 && r <= 0xFF5E && isAlnum(r-0xFF01+'!'):
		msg = fmt.Sprintf("%q is a full-width character; use %q", string(r), string(r-0xFF01+'!'))
	case unicode.IsSpace(r):
		msg = fmt.Sprintf("%q is a space; codes contain no spaces", string(r))
	case r == utf8.RuneError:
		msg = "the text is not valid UTF-8"
	default:
		msg = fmt.Sprintf("%q is not a character used in codes (digits and capital letters only)", string(r))
	}
	return &Error{Pos: pos, Msg: msg}
}

// lookalike maps each left-out letter to the character it is there to avoid
// confusion with, for error hints.
var lookalike = map[rune]rune{'I': '1', 'O': '0', 'S': '5', 'Z': '2'}

// CheckChar returns the GB 32100 check character (position 18) for the first
// 17 characters of a code. It checks only that first17 is 17 characters of
// the code's character set; use Validate for the whole structure.
func CheckChar(first17 string) (byte, error) {
	if err := checkCharset(first17, Length-1); err != nil {
		return 0, fmt.Errorf("uscc: computing check character: %w", err)
	}
	return checkChar(first17), nil
}

// OrgCheckChar returns the GB 11714 check character of an organization code
// (组织机构代码) from its 8 leading characters, which are digits or capital
// letters. It also serves standalone organization codes, written as
// "12345678-9" on certificates issued before 2015.
func OrgCheckChar(body string) (byte, error) {
	pos := 0
	for _, r := range body {
		pos++
		if (r < '0' || r > '9') && (r < 'A' || r > 'Z') {
			return 0, fmt.Errorf("uscc: organization code %q: position %d: %q is not a digit or capital letter", body, pos, string(r))
		}
	}
	if pos != 8 {
		return 0, fmt.Errorf("uscc: organization code %q has %d characters before its check character, expected 8", body, pos)
	}
	return orgCheckChar(body), nil
}

// checkCharset reports the first character of s that is not in charset, or
// a wrong length.
func checkCharset(s string, n int) error {
	pos := 0
	for _, r := range s {
		pos++
		if err := checkRune(pos, r); err != nil {
			return err
		}
	}
	if pos != n {
		return &Error{Msg: fmt.Sprintf("%q has %d characters, expected %d", s, pos, n)}
	}
	return nil
}

// checkChar computes the GB 32100 check character of 17 charset bytes:
// 31 - (Σ value×weight mod 31), where 31 stands for 0.
func checkChar(first17 string) byte {
	sum := 0
	for i := range len(weights) {
		sum += strings.IndexByte(charset, first17[i]) * weights[i]
	}
	return charset[(31-sum%31)%31]
}

// orgCheckChar computes the GB 11714 check character of 8 digits or capital
// letters: 11 - (Σ value×weight mod 11), where letters count A=10 … Z=35,
// 10 is written X and 11 is written 0.
func orgCheckChar(body string) byte {
	sum := 0
	for i := range len(orgWeights) {
		sum += alnumValue(body[i]) * orgWeights[i]
	}
	switch c := 11 - sum%11; c {
	case 10:
		return 'X'
	case 11:
		return '0'
	default:
		return byte('0' + c)
	}
}

// alnumValue is the GB 11714 value of a digit or capital letter. It differs
// from the GB 32100 value (the index in charset) for letters after H, since
// the left-out letters still count there.
func alnumValue(c byte) int {
	if isDigit(c) {
		return int(c - '0')
	}
	return int(c-'A') + 10
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z'
}

// Normalize returns s as a code is written canonically, undoing what people
// and office software do to codes: it upper-cases letters, turns full-width
// characters into their ASCII forms, and removes spaces (including the
// ideographic space) and hyphens anywhere in s. It does not validate the
// result, and it does not turn the letter O into 0 or similar: that would be
// a guess, left to the person correcting the data.
func Normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r >= 0xFF01 && r <= 0xFF5E {
			r = r - 0xFF01 + '!'
		}
		if unicode.IsSpace(r) || r == '-' {
			continue
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// Generate returns a random valid code of an enterprise (authority 9, type 1)
// registered in region, a 6-digit administrative division code such as
// "330402". It is meant for demonstration and test data: the code is
// well-formed but was not issued to anyone. About half of the organization
// codes have the "MA" prefix of codes issued since 2015, the rest are 8
// digits like older ones.
//
// Randomness comes from r, so a seeded r gives reproducible data; if r is
// nil the math/rand/v2 global source is used. Generate panics if region is
// not 6 digits, which is a mistake in the calling program.
func Generate(r *rand.Rand, region string) string {
	if len(region) != 6 || strings.IndexFunc(region, func(c rune) bool { return c < '0' || c > '9' }) >= 0 {
		panic(fmt.Sprintf("uscc.Generate: region %q is not a 6-digit administrative division code", region))
	}
	intN := rand.IntN
	if r != nil {
		intN = r.IntN
	}
	b := make([]byte, 0, Length)
	b = append(b, "91"...)
	b = append(b, region...)
	if intN(2) == 0 {
		b = append(b, "MA"...)
		for range 6 {
			b = append(b, charset[intN(len(charset))])
		}
	} else {
		for range 8 {
			b = append(b, charset[intN(10)])
		}
	}
	b = append(b, orgCheckChar(string(b[8:16])))
	b = append(b, checkChar(string(b)))
	return string(b)
}
