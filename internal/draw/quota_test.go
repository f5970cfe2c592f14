package draw

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

func count(n int) *int { return &n }

func TestQuotaSize(t *testing.T) {
	tests := []struct {
		q    Quota
		n    int
		want int
	}{
		{Quota{Count: count(100)}, 299, 100},
		{Quota{Count: count(100)}, 40, 40},
		{Quota{Count: count(0)}, 40, 0},
		{Quota{Count: count(3)}, 0, 0},
		// Exact decimals: 0.1 × 10 is 1 and 0.3 × 10 is 3, where binary
		// floating point would give 1.0000000000000000555 and
		// 3.0000000000000000166 and round them up to 2 and 4.
		{Quota{Ratio: "0.1"}, 10, 1},
		{Quota{Ratio: "0.3"}, 10, 3},
		{Quota{Ratio: "0.7"}, 10, 7},
		{Quota{Ratio: "0.07"}, 100, 7},
		{Quota{Ratio: "0.35"}, 20, 7},
		{Quota{Ratio: "0.1"}, 11, 2},
		{Quota{Ratio: "0.01"}, 1, 1},
		{Quota{Ratio: "0.01"}, 100, 1},
		{Quota{Ratio: "0.01"}, 101, 2},
		{Quota{Ratio: "0.3"}, 258, 78},
		{Quota{Ratio: "0.05"}, 266, 14},
		{Quota{Ratio: "0"}, 50, 0},
		{Quota{Ratio: "0.0"}, 50, 0},
		{Quota{Ratio: "1"}, 50, 50},
		{Quota{Ratio: "1.000"}, 50, 50},
		{Quota{Ratio: "0.000000000000000001"}, 1, 1},
		{Quota{Ratio: "0.999999999999999999"}, 1000, 1000},
		{Quota{Ratio: "0.5"}, 0, 0},
		// min raises the ratio's quota, capped at N.
		{Quota{Ratio: "0.03", Min: 3}, 10, 3},
		{Quota{Ratio: "0.01", Min: 1}, 253, 3},
		{Quota{Ratio: "0.01", Min: 4}, 253, 4},
		{Quota{Ratio: "0.01", Min: 5}, 3, 3},
		{Quota{Ratio: "0", Min: 2}, 10, 2},
		{Quota{Ratio: "0.5", Min: 2}, 0, 0},
		{Quota{Ratio: "1", Min: 1000}, 10, 10},
		// No overflow at the largest population.
		{Quota{Ratio: "1"}, math.MaxInt, math.MaxInt},
		{Quota{Ratio: "0.5"}, math.MaxInt, math.MaxInt/2 + 1},
		{Quota{Ratio: "0.999999999999999999"}, math.MaxInt, math.MaxInt - 9},
	}
	for _, tt := range tests {
		got, err := tt.q.Size(tt.n)
		if err != nil || got != tt.want {
			t.Errorf("%+v.Size(%d) = %d, %v; want %d", tt.q, tt.n, got, err, tt.want)
		}
	}
}

// TestQuotaSizeExact checks ratios against arbitrary-precision arithmetic.
func TestQuotaSizeExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		digits := rng.IntN(maxRatioDigits + 1)
		den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(digits)), nil)
		num := new(big.Int).SetUint64(rng.Uint64N(den.Uint64() + 1))
		if rng.IntN(4) == 0 {
			num.Set(den) // ratio 1, written with trailing zeros
		}
		ratio := num.String()
		if digits > 0 {
			s := strings.Repeat("0", digits+1-len(ratio)) + ratio
			ratio = s[:len(s)-digits] + "." + s[len(s)-digits:]
		}
		var n int
		switch rng.IntN(3) {
		case 0:
			n = rng.IntN(1000)
		case 1:
			n = rng.IntN(1 << 40)
		default:
			n = math.MaxInt - rng.IntN(1000)
		}
		minimum := rng.IntN(50)

		// want = max(min(N, ceil(num × N / den)), min(min, N))
		want := new(big.Int).Mul(num, big.NewInt(int64(n)))
		want.Add(want, new(big.Int).Sub(den, big.NewInt(1)))
		want.Quo(want, den)
		if want.Cmp(big.NewInt(int64(n))) > 0 {
			want.SetInt64(int64(n))
		}
		if m := int64(min(minimum, n)); want.Cmp(big.NewInt(m)) < 0 {
			want.SetInt64(m)
		}

		q := Quota{Ratio: ratio, Min: minimum}
		got, err := q.Size(n)
		if err != nil || int64(got) != want.Int64() {
			t.Fatalf("%+v.Size(%d) = %d, %v; want %v", q, n, got, err, want)
		}
	}
}

func TestQuotaInvalid(t *testing.T) {
	tests := []struct {
		q       Quota
		field   string
		problem string
	}{
		{Quota{Ratio: "abc"}, "ratio", `"abc" is not a decimal number`},
		{Quota{Ratio: "-0.1"}, "ratio", `"-0.1" is negative`},
		{Quota{Ratio: "1.5"}, "ratio", `"1.5" is above 1`},
		{Quota{Ratio: "1.0000001"}, "ratio", "is above 1"},
		{Quota{Ratio: "2"}, "ratio", "is above 1"},
		{Quota{Ratio: "1e-3"}, "ratio", "is not a decimal number"},
		{Quota{Ratio: "0.1234567890123456789"}, "ratio", "more than 18 digits"},
		{Quota{Ratio: ".5"}, "ratio", "is not a decimal number"},
		{Quota{Ratio: "5."}, "ratio", "is not a decimal number"},
		{Quota{Ratio: "+0.5"}, "ratio", "is not a decimal number"},
		{Quota{Ratio: " 0.5"}, "ratio", "is not a decimal number"},
		{Quota{Ratio: "0,5"}, "ratio", "is not a decimal number"},
		{Quota{Ratio: "0x1"}, "ratio", "is not a decimal number"},
		{Quota{Ratio: "NaN"}, "ratio", "is not a decimal number"},
		{Quota{Ratio: "１"}, "ratio", "is not a decimal number"},
		{Quota{Ratio: "00.5"}, "ratio", "leading zero"},
		{Quota{}, "", "needs a count or a ratio"},
		{Quota{Count: count(1), Ratio: "0.1"}, "", "both"},
		{Quota{Count: count(-1)}, "count", "-1 is negative"},
		{Quota{Ratio: "0.1", Min: -1}, "min", "-1 is negative"},
		{Quota{Count: count(5), Min: 1}, "min", "only allowed with a ratio"},
	}
	for _, tt := range tests {
		err := tt.q.Validate()
		fe, ok := errors.AsType[*FieldError](err)
		if !ok || fe.Field != tt.field || !strings.Contains(fe.Problem, tt.problem) {
			t.Errorf("%+v.Validate() = %v; want field %q, problem containing %q", tt.q, err, tt.field, tt.problem)
		}
		if _, err := tt.q.Size(10); err == nil {
			t.Errorf("%+v.Size(10) succeeded", tt.q)
		}
	}
}

func TestValidateQuotasNamesField(t *testing.T) {
	err := ValidateQuotas(map[string]Quota{
		"item=ZR-01;risk=high": {Ratio: "0.1"},
		"item=ZR-01;risk=low":  {Ratio: "1.5"},
	})
	const want = `quotas["item=ZR-01;risk=low"].ratio: "1.5" is above 1`
	if err == nil || err.Error() != want {
		t.Errorf("ValidateQuotas = %v, want %s", err, want)
	}

	for label, want := range map[string]string{
		"":            `quotas[""]: empty stratum label`,
		"risk=\thigh": `quotas["risk=\thigh"]: label contains a TAB at byte 5`,
	} {
		err := ValidateQuotas(map[string]Quota{label: {Count: count(1)}})
		if err == nil || err.Error() != want {
			t.Errorf("ValidateQuotas(%q) = %v, want %s", label, err, want)
		}
	}
	err = ValidateQuotas(map[string]Quota{"a": {}})
	if fe, ok := errors.AsType[*FieldError](err); !ok || fe.Field != `quotas["a"]` {
		t.Errorf("ValidateQuotas(empty rule) = %v, want field quotas[\"a\"]", err)
	}
}
