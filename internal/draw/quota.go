package draw

import (
	"fmt"
	"maps"
	"math/bits"
	"slices"
	"strconv"
	"strings"
)

// maxRatioDigits bounds the fractional digits of a ratio so that its
// numerator and denominator fit in a uint64 and r × N can be computed
// exactly with one 128-bit product.
const maxRatioDigits = 18

// A Quota is the rule that sets how many of a stratum's N objects are drawn.
// Exactly one of Count and Ratio is set:
//
//   - Count: n = min(Count, N).
//   - Ratio: a decimal string r in [0, 1] such as "0.05", and
//     n = min(N, ceil(r × N)) computed exactly; if Min is set, n is then
//     raised to min(Min, N).
//
// Its JSON form is the one of the test vectors and of the proof's rule:
// {"count":100} or {"ratio":"0.03","min":1}.
type Quota struct {
	Count *int   `json:"count,omitempty"`
	Ratio string `json:"ratio,omitempty"`
	Min   int    `json:"min,omitempty"`
}

// Validate reports whether q is a well-formed rule. A non-nil error is a
// *[FieldError] whose Field is relative to the rule: "count", "ratio",
// "min", or "" for the rule as a whole.
func (q Quota) Validate() error {
	if fe := q.check(); fe != nil {
		return fe
	}
	return nil
}

// check is Validate with a concrete result type, so that callers can
// prefix the field without a type assertion.
func (q Quota) check() *FieldError {
	switch {
	case q.Count == nil && q.Ratio == "":
		return &FieldError{Problem: "needs a count or a ratio"}
	case q.Count != nil && q.Ratio != "":
		return &FieldError{Problem: "has both a count and a ratio"}
	case q.Count != nil && *q.Count < 0:
		return &FieldError{Field: "count", Problem: fmt.Sprintf("%d is negative", *q.Count)}
	case q.Count != nil && q.Min != 0:
		// The spec's wording leaves open whether min applies to a count;
		// the vectors only pair it with a ratio. Refusing the combination
		// keeps every accepted rule unambiguous.
		return &FieldError{Field: "min", Problem: "is only allowed with a ratio"}
	case q.Min < 0:
		return &FieldError{Field: "min", Problem: fmt.Sprintf("%d is negative", q.Min)}
	}
	if q.Ratio != "" {
		if _, _, problem := parseRatio(q.Ratio); problem != "" {
			return &FieldError{Field: "ratio", Problem: problem}
		}
	}
	return nil
}

// Size returns the quota n of a stratum of population objects under rule q.
// The error, if any, is the one [Quota.Validate] reports.
func (q Quota) Size(population int) (int, error) {
	if population < 0 {
		return 0, fmt.Errorf("draw: negative population %d", population)
	}
	if fe := q.check(); fe != nil {
		return 0, fe
	}
	return q.size(population), nil
}

// size is Size for a rule that passed check.
func (q Quota) size(population int) int {
	if q.Count != nil {
		return min(*q.Count, population)
	}
	num, den, _ := parseRatio(q.Ratio)
	// ceil(num × N / den) on 128 bits. Div64 needs hi < den, which holds
	// because num ≤ den and N < 2⁶⁴.
	hi, lo := bits.Mul64(num, uint64(population))
	quo, rem := bits.Div64(hi, lo, den)
	if rem != 0 {
		quo++
	}
	n := int(min(quo, uint64(population)))
	if q.Min > n {
		n = min(q.Min, population)
	}
	return n
}

// parseRatio parses a ratio written as a plain decimal in [0, 1]: "0",
// "1", "0.05", "1.000". It returns the ratio as num/den with den a power of
// ten, or a non-empty problem. Signs, exponents, spaces, leading zeros and
// a bare "." are refused: the rule is published and must read one way only.
func parseRatio(s string) (num, den uint64, problem string) {
	if s == "" {
		return 0, 0, "is empty"
	}
	if s[0] == '-' {
		return 0, 0, fmt.Sprintf("%q is negative", s)
	}
	whole, frac, dot := strings.Cut(s, ".")
	if !isDigits(whole) || dot && !isDigits(frac) {
		return 0, 0, fmt.Sprintf("%q is not a decimal number such as \"0.05\"", s)
	}
	if len(whole) > 1 && whole[0] == '0' {
		return 0, 0, fmt.Sprintf("%q has a leading zero", s)
	}
	if len(frac) > maxRatioDigits {
		return 0, 0, fmt.Sprintf("%q has more than %d digits after the point", s, maxRatioDigits)
	}
	if whole != "0" && whole != "1" {
		return 0, 0, fmt.Sprintf("%q is above 1", s)
	}
	den = 1
	for _, c := range []byte(frac) {
		num = num*10 + uint64(c-'0')
		den *= 10
	}
	if whole == "1" {
		if num != 0 {
			return 0, 0, fmt.Sprintf("%q is above 1", s)
		}
		num = den
	}
	return num, den, ""
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// ValidateQuotas reports whether every label and rule of quotas is well
// formed, checking labels in bytewise order so that the error is always the
// same one. The error is a *[FieldError] whose Field is the full path, such
// as `quotas["item=ZR-01;risk=low"].ratio`.
func ValidateQuotas(quotas map[string]Quota) error {
	for _, label := range slices.Sorted(maps.Keys(quotas)) {
		if err := validateQuota(label, quotas[label]); err != nil {
			return err
		}
	}
	return nil
}

func validateQuota(label string, q Quota) *FieldError {
	field := quotaField(label)
	if label == "" {
		return &FieldError{Field: field, Problem: "empty stratum label"}
	}
	if err := ValidateText(field, label); err != nil {
		fe := err.(*FieldError)
		fe.Problem = "label " + fe.Problem
		return fe
	}
	if fe := q.check(); fe != nil {
		if fe.Field != "" {
			field += "." + fe.Field
		}
		return &FieldError{Field: field, Problem: fe.Problem}
	}
	return nil
}

func quotaField(label string) string {
	return "quotas[" + strconv.Quote(label) + "]"
}
