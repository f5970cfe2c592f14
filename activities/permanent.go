package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/lib/pq"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// PermanentErrors is the worker interceptor that stops an activity from
// being retried when its error will recur on every attempt: PostgreSQL's
// data exceptions (class 22, e.g. 22021 invalid byte sequence), integrity
// violations (23) and syntax or access errors (42), and panics. Each
// becomes a non-retryable application error; one of a caller's entry
// reaches the API as a 4xx through the Update that ran the activity, and
// the workflow stays healthy for the next, correct entry. Everything else
// (lost connections, timeouts, serialization failures) is left to the
// retry policy, which retries it until the database is back.
func PermanentErrors() interceptor.WorkerInterceptor { return &permanentErrors{} }

type permanentErrors struct {
	interceptor.WorkerInterceptorBase
}

func (*permanentErrors) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	a := &permanentActivity{}
	a.Next = next
	return a
}

type permanentActivity struct {
	interceptor.ActivityInboundInterceptorBase
}

func (a *permanentActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (res any, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("activity panicked: %v", r), "Panic", nil)
		}
	}()
	res, err = a.Next.ExecuteActivity(ctx, in)
	return res, Permanent(err)
}

// Permanent classifies err: a PostgreSQL error that no retry can heal
// becomes a fault, crossing Temporal as a non-retryable error (Reject);
// anything else is returned as it is.
func Permanent(err error) error {
	var pqe *pq.Error
	if err == nil || !errors.As(err, &pqe) {
		return err
	}
	switch pqe.Code.Class() {
	case "22":
		return Reject(fault.New(fault.Invalid, "the entry cannot be stored: %s (SQLSTATE %s)", pqe.Message, pqe.Code))
	case "23":
		return Reject(fault.New(fault.Conflict, "the entry conflicts with what is stored: %s (SQLSTATE %s)", pqe.Message, pqe.Code))
	case "42":
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("statement refused by PostgreSQL: %v", err), "SQLError", err)
	}
	return err
}
