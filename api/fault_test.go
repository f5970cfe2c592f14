package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// A workflow that does not answer in time is a 503 to retry, and a step
// about to open a 409 to retry; neither is a 500.
func TestRetryableAnswers(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	cases := []struct {
		name       string
		err        error
		status     int
		retryAfter string
	}{
		{"query deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), http.StatusServiceUnavailable, "5"},
		{"server deadline", serviceerror.NewDeadlineExceeded("context deadline exceeded"), http.StatusServiceUnavailable, "5"},
		{"server restarting", fmt.Errorf("update: %w", serviceerror.NewUnavailable("connection refused")), http.StatusServiceUnavailable, "5"},
		{"server shedding load", serviceerror.NewResourceExhausted(enums.RESOURCE_EXHAUSTED_CAUSE_RPS_LIMIT, "namespace rate limit exceeded"), http.StatusServiceUnavailable, "5"},
		{"starting", fault.New(fault.NotReady, "county 330402 of batch B is starting"), http.StatusConflict, "1"},
		{"final conflict", fault.New(fault.Conflict, "already matched"), http.StatusConflict, ""},
	}
	for _, tc := range cases {
		rec := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(rec)
		c.Request = httptest.NewRequest("GET", "/api/v1/batches/B/progress", nil)
		fail(c, zap.NewNop(), temporalFault(tc.err, "batch/B"))
		if rec.Code != tc.status || rec.Header().Get("Retry-After") != tc.retryAfter || rec.Header().Get("Content-Type") != problemContentType {
			t.Errorf("%s: %d, Retry-After %q, %s: %s", tc.name, rec.Code, rec.Header().Get("Retry-After"), rec.Header().Get("Content-Type"), rec.Body)
		}
	}
}
