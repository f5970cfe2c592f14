package activities

import (
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// A caller's mistake crosses Temporal (from an activity, or an update
// validator) as a non-retryable application error whose type names the
// fault kind and whose details carry the problems, so the API can answer it
// with the right 4xx.
var kindNames = map[fault.Kind]string{
	fault.Invalid: "Invalid", fault.Forbidden: "Forbidden", fault.NotFound: "NotFound",
	fault.Conflict: "Conflict", fault.PreconditionFailed: "PreconditionFailed",
	fault.NotReady: "NotReady",
}

// Reject converts a fault into such an application error; other errors are
// returned as they are (and retried).
func Reject(err error) error {
	if err == nil {
		return nil
	}
	e, ok := fault.As(err)
	if !ok {
		return err
	}
	// The message carries the problems for whoever reads only it (logs, the
	// Temporal UI); the details carry them structured for the API.
	return temporal.NewNonRetryableApplicationError(e.Error(), kindNames[e.Kind], nil, e.Msg, e.Problems, e.Details)
}

// AsFault recovers the fault carried by an error that came back from an
// activity or an update.
func AsFault(err error) (*fault.Error, bool) {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		return nil, false
	}
	for kind, name := range kindNames {
		if app.Type() != name {
			continue
		}
		e := &fault.Error{Kind: kind, Msg: app.Message()}
		if app.HasDetails() {
			var msg string
			var problems []fault.Problem
			var details any
			if app.Details(&msg, &problems, &details) == nil {
				e.Msg, e.Problems, e.Details = msg, problems, details
			}
		}
		return e, true
	}
	return nil, false
}
