package workflows

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/spotcheck-gov/spotcheck/activities"
	"github.com/spotcheck-gov/spotcheck/internal/notify"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// The digest run plans the day from the workflow's clock (China date),
// sends one digest per contact on a working day and none on a holiday.
func TestDigestWorkflow(t *testing.T) {
	for _, tc := range []struct {
		start time.Time
		day   string
		sent  int
	}{
		// 01:00 UTC is 09:00 in China: the schedule's firing time.
		{time.Date(2026, 12, 3, 1, 0, 0, 0, time.UTC), "2026-12-03", 3},
		{time.Date(2026, 10, 1, 1, 0, 0, 0, time.UTC), "2026-10-01", 0}, // 国庆节
	} {
		var ts testsuite.WorkflowTestSuite
		env := ts.NewTestWorkflowEnvironment()
		env.SetStartTime(tc.start)
		var mu sync.Mutex
		var sent []activities.DigestInput
		env.RegisterActivityWithOptions(func(_ context.Context, d workday.Date) (activities.DigestDay, error) {
			cal := workday.Default()
			ok, _ := cal.IsWorkingDay(d)
			p := activities.DigestDay{Day: d, WorkingDay: ok}
			if ok {
				h, _ := cal.AddWorkingDays(d, 5)
				p.Horizon, p.Contacts = &h, []int64{4, 7, 9}
			}
			return p, nil
		}, activity.RegisterOptions{Name: "PlanDigests"})
		env.RegisterActivityWithOptions(func(_ context.Context, in activities.DigestInput) (activities.DeliveryOutcome, error) {
			mu.Lock()
			defer mu.Unlock()
			sent = append(sent, in)
			return activities.DeliveryOutcome{ContactID: in.ContactID, Status: notify.StatusDelivered}, nil
		}, activity.RegisterOptions{Name: "SendDigest"})
		env.ExecuteWorkflow(DigestWorkflow)
		var rep DigestReport
		if err := env.GetWorkflowResult(&rep); err != nil {
			t.Fatal(err)
		}
		if rep.Day.String() != tc.day || rep.Sent != tc.sent || len(sent) != tc.sent {
			t.Errorf("%s: report %+v, sent %+v", tc.day, rep, sent)
		}
		for _, in := range sent {
			if in.Day.String() != tc.day || in.Horizon.String() != "2026-12-10" {
				t.Errorf("digest input %+v", in)
			}
		}
	}
}
