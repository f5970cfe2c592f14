package activities

import (
	"errors"
	"fmt"
	"testing"

	"github.com/lib/pq"
	"go.temporal.io/sdk/temporal"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

func TestPermanentErrorsAreNotRetried(t *testing.T) {
	for _, c := range []struct {
		code      pq.ErrorCode
		permanent bool
		kind      fault.Kind
	}{
		{"22021", true, fault.Invalid},  // invalid byte sequence for encoding "UTF8"
		{"22P02", true, fault.Invalid},  // invalid text representation
		{"23505", true, fault.Conflict}, // unique violation
		{"42501", true, 0},              // insufficient privilege
		{"40001", false, 0},             // serialization failure: heals
		{"57P01", false, 0},             // admin shutdown: heals
		{"08006", false, 0},             // connection failure: heals
	} {
		err := Permanent(fmt.Errorf("save result: %w", &pq.Error{Code: c.code, Message: "m"}))
		var app *temporal.ApplicationError
		isApp := errors.As(err, &app)
		if got := isApp && app.NonRetryable(); got != c.permanent {
			t.Errorf("%s: non-retryable %v, want %v (%v)", c.code, got, c.permanent, err)
		}
		// The API reads the fault from the error's type (AsFault).
		if c.kind != 0 && (!isApp || app.Type() != kindNames[c.kind]) {
			t.Errorf("%s: %v, want a %s fault", c.code, err, kindNames[c.kind])
		}
	}
	if Permanent(nil) != nil || Permanent(errors.New("dial tcp: refused")).Error() != "dial tcp: refused" {
		t.Error("other errors must pass unchanged")
	}
}
