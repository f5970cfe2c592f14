// Package fault classifies the errors that a caller, not the server, must
// fix: bad input, a missing thing, a conflicting state, a stale version.
// Domain packages return them; the API turns each kind into its HTTP status
// and an RFC 9457 problem, the CLI into a message and exit code 1. Any
// other error is the server's own failure.
package fault

import (
	"errors"
	"fmt"
)

// Kind says whose mistake an error is and how to answer it.
type Kind int

// The kinds, each with the HTTP status the API answers.
const (
	Invalid            Kind = iota + 1 // 400: the input is wrong
	Unauthorized                       // 401: no valid credentials
	Forbidden                          // 403: valid credentials, not allowed
	NotFound                           // 404
	Conflict                           // 409: not possible in the current state
	PreconditionFailed                 // 412: If-Match names a stale version
	TooLarge                           // 413
	PreconditionNeeded                 // 428: If-Match is required
	// NotReady is a conflict that passes by itself: the step the caller
	// asks for is about to open (a workflow starting, a freeze finishing).
	// 409 with Retry-After: "try again", never "already done".
	NotReady
	// Unavailable is the server's own dependency too slow to answer in
	// time (a workflow query timing out): 503 with Retry-After.
	Unavailable
)

// RetryAfter is how long a caller waits before repeating a request that
// met a fault of kind, or 0 when repeating it unchanged cannot help.
func RetryAfter(kind Kind) int {
	switch kind {
	case NotReady:
		return 1
	case Unavailable:
		return 5
	}
	return 0
}

// Problem names one wrong input: a field of a request body, or a row and
// column of an imported file.
type Problem struct {
	Field   string `json:"field,omitempty"`
	Row     int    `json:"row,omitempty"`
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
}

// Error is a classified error. Msg is written for a person.
type Error struct {
	Kind     Kind
	Msg      string
	Problems []Problem
	// Details carries structured data for the response, e.g. the objects
	// that cannot be staffed in an infeasible match.
	Details any
}

func (e *Error) Error() string {
	if len(e.Problems) == 0 {
		return e.Msg
	}
	s := e.Msg
	for i, p := range e.Problems {
		if i == 5 {
			s += fmt.Sprintf("; and %d more", len(e.Problems)-5)
			break
		}
		s += "; " + p.String()
	}
	return s
}

func (p Problem) String() string {
	loc := p.Field
	if p.Row > 0 {
		loc = fmt.Sprintf("row %d", p.Row)
		if p.Column != "" {
			loc += ", column " + p.Column
		}
	}
	if loc == "" {
		return p.Message
	}
	return loc + ": " + p.Message
}

// New returns an error of kind with a formatted message.
func New(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Field returns an Invalid error about one field.
func Field(field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Kind: Invalid, Msg: "invalid " + field, Problems: []Problem{{Field: field, Message: msg}}}
}

// Invalids returns an Invalid error listing every problem, or nil if there
// are none; msg summarises them.
func Invalids(msg string, problems []Problem) error {
	if len(problems) == 0 {
		return nil
	}
	return &Error{Kind: Invalid, Msg: msg, Problems: problems}
}

// KindOf returns the kind of the first *Error in err's chain, or 0.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// As returns the first *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
