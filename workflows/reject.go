package workflows

import (
	"github.com/spotcheck-gov/spotcheck/activities"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// rejection refuses an update with a fault the API answers as a 4xx.
func rejection(e *fault.Error) error { return activities.Reject(e) }
