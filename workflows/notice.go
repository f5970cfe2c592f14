package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/spotcheck-gov/spotcheck/internal/notify"
)

// notice is a message to the contacts of a county and role. Its ID is its
// idempotency key: a replayed or retried send never reaches anyone twice.
type notice struct {
	ID, BatchID, County, ObjectKey, Role, Kind, Text string
}

var subjects = map[string]string{
	"assigned":   "双随机抽查任务已分配",
	"exception":  "双随机抽查例外事项",
	"reminder":   "双随机抽查期限提醒",
	"escalation": "双随机抽查逾期督办",
	"calendar":   "工作日历需要补充",
}

// send delivers n through the notification activity, without waiting for
// it: a contact whose webhook is down is retried for a day, while the batch
// goes on — a lost reminder must not stop the inspection.
func send(ctx workflow.Context, n notice) {
	payload := map[string]any{"batch_id": n.BatchID, "county": n.County}
	if n.ObjectKey != "" {
		payload["object_key"] = n.ObjectKey
	}
	msg := notify.Notification{ID: n.ID, Kind: n.Kind, RegionCode: n.County, Role: n.Role,
		Subject: subjects[n.Kind], Body: n.Text, Payload: payload}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute, MaximumAttempts: 1000},
	})
	f := workflow.ExecuteActivity(ctx, notifier.Notify, msg)
	workflow.Go(ctx, func(ctx workflow.Context) {
		if err := f.Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("notification not delivered", "id", n.ID, "error", err)
		}
	})
}
