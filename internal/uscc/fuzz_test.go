package uscc

import (
	"errors"
	"testing"
	"unicode/utf8"
)

// FuzzValidate checks that Validate never panics and that its verdict agrees
// with the package's other functions. The seed corpus is in
// testdata/fuzz/FuzzValidate.
func FuzzValidate(f *testing.F) {
	for _, code := range published {
		f.Add(code)
	}
	f.Fuzz(func(t *testing.T, code string) {
		err := Validate(code)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Validate(%q) returned %T, want *Error", code, err)
			}
			if e.Pos < 0 || e.Pos > utf8.RuneCountInString(code) || e.Msg == "" {
				t.Fatalf("Validate(%q) = %+v: position outside the code or no message", code, e)
			}
			return
		}
		if len(code) != Length {
			t.Fatalf("Validate accepted %q of %d bytes", code, len(code))
		}
		if c, err := CheckChar(code[:17]); err != nil || c != code[17] {
			t.Fatalf("Validate accepted %q but CheckChar gives %q, %v", code, c, err)
		}
		if c, err := OrgCheckChar(code[8:16]); err != nil || c != code[16] {
			t.Fatalf("Validate accepted %q but OrgCheckChar gives %q, %v", code, c, err)
		}
		if n := Normalize(code); n != code {
			t.Fatalf("Validate accepted %q, which Normalize changes to %q", code, n)
		}
	})
}
